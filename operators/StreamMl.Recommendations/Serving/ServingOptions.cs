namespace StreamMl.Recommendations.Serving;

/// <summary>Settings of a <see cref="RecommendationServer"/>.</summary>
public sealed class ServingOptions
{
    /// <summary>The largest k a request may ask for (default 1,000).</summary>
    public int MaxK { get; init; } = 1_000;

    /// <summary>How long after an impression the user's interactions count as its feedback (default 30 minutes,
    /// processing time).</summary>
    public TimeSpan FeedbackHorizon { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>The clock of the feedback horizon (default the system clock; tests pass a fake one).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;
}

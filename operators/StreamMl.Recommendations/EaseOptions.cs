namespace StreamMl.Recommendations;

/// <summary>Settings of <see cref="EaseRecommender"/>.</summary>
public sealed class EaseOptions : RecommenderOptions
{
    /// <summary>L2 regularisation λ added to the Gram matrix's diagonal (default 500).</summary>
    public float Lambda { get; init; } = 500f;

    /// <summary>A refit starts after this many applied events since the last one (default 10,000); 0 refits only when
    /// <see cref="EaseRecommender.Refit"/> is called.</summary>
    public int RefitEveryEvents { get; init; } = 10_000;

    /// <summary>Refit on a background thread and swap the model in when done, so serving never pauses (default true).
    /// False refits inside the <c>Update</c> call that triggers it (deterministic; used by offline evaluation).</summary>
    public bool BackgroundRefit { get; init; } = true;

    /// <summary>Most items in the model (default 20,000): the most popular ones. The refit holds two dense float matrices
    /// of this size squared (1.6 GB each at 20,000).</summary>
    public int MaxModelItems { get; init; } = 20_000;

    internal new void Validate()
    {
        base.Validate();
        if (!(Lambda > 0)) throw new ArgumentOutOfRangeException(nameof(Lambda), Lambda, "lambda must be positive");
        if (RefitEveryEvents < 0) throw new ArgumentOutOfRangeException(nameof(RefitEveryEvents), RefitEveryEvents, "refit interval must not be negative");
        if (MaxModelItems < 1) throw new ArgumentOutOfRangeException(nameof(MaxModelItems), MaxModelItems, "max model items must be at least 1");
    }
}

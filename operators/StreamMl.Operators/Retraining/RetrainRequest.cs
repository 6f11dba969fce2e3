using StreamMl.Operators.Learners;

namespace StreamMl.Operators.Retraining;

/// <summary>What a retrain is asked to do: train a challenger to the champion's recipe on <see cref="Window"/> (plus the
/// owner's reference rows) and compare it with the champion.</summary>
public sealed record RetrainRequest
{
    /// <summary>Why it started.</summary>
    public required string Trigger { get; init; }

    /// <summary>When it started.</summary>
    public required DateTimeOffset TriggeredAt { get; init; }

    /// <summary>The serving model (the challenger's parent).</summary>
    public required string Champion { get; init; }

    /// <summary>A copy of the recent labelled rows, oldest first.</summary>
    public required TrainingSet Window { get; init; }

    /// <summary>Position in the stream of the window's first labelled row (1-based).</summary>
    public required long FirstRow { get; init; }

    /// <summary>Position in the stream of the window's last labelled row.</summary>
    public required long LastRow { get; init; }

    /// <summary>The comparison settings.</summary>
    public required RetrainGateOptions Gate { get; init; }

    /// <summary>The window in words: "labelled rows 20001-25000 of the stream".</summary>
    public string DataWindow => $"labelled rows {FirstRow}-{LastRow} of the stream";
}

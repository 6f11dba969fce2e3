using StreamMl.Operators.Rollouts;

namespace StreamMl.Operators.Retraining;

/// <summary>A retrain policy: what triggers it, the window of recent rows it trains on, the gate a challenger must pass
/// against the champion and the rollout that releases a challenger that passed.</summary>
public sealed record RetrainOptions
{
    /// <summary>The trigger conditions (any one fires).</summary>
    public required RetrainTriggerOptions On { get; init; }

    /// <summary>Recent labelled rows kept for training (the newest win). Default 50,000.</summary>
    public int WindowRows { get; init; } = 50_000;

    /// <summary>Labelled rows a retrain needs in the window before it may start. Default 1,000.</summary>
    public int MinRows { get; init; } = 1_000;

    /// <summary>The live metric trigger is computed over the window's newest labelled rows, this many (and waits for
    /// them). Default 1,000.</summary>
    public int MetricRows { get; init; } = 1_000;

    /// <summary>No retrain starts for this long after the last one ended (promoted, rejected, rolled back or failed).
    /// Default 1 hour.</summary>
    public TimeSpan Cooldown { get; init; } = TimeSpan.FromHours(1);

    /// <summary>How the challenger is compared with the champion before it is registered.</summary>
    public RetrainGateOptions Gate { get; init; } = new();

    /// <summary>How a challenger that passed the gate is released (shadow first). Default <see cref="RolloutOptions"/>'s
    /// defaults.</summary>
    public RolloutOptions Rollout { get; init; } = new();

    /// <summary>Throws <see cref="RetrainException"/> naming the setting that is wrong.</summary>
    public void Validate()
    {
        On.Validate();
        if (WindowRows < 10) throw new RetrainException($"window_rows must be at least 10, not {WindowRows}");
        if (MinRows < 1 || MinRows > WindowRows) throw new RetrainException($"min_rows must be between 1 and window_rows ({WindowRows}), not {MinRows}");
        if (MetricRows < 1 || MetricRows > WindowRows) throw new RetrainException($"metric_rows must be between 1 and window_rows ({WindowRows}), not {MetricRows}");
        if (Cooldown < TimeSpan.Zero) throw new RetrainException("cooldown must not be negative");
        Gate.Validate();
        Rollout.Validate();
        if (Rollout.Steps.Count == 0 || Rollout.Steps[0] != 0)
            throw new RetrainException("a retrained model starts as a shadow: rollout steps must begin with 0");
    }
}

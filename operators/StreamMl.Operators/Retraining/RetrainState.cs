namespace StreamMl.Operators.Retraining;

/// <summary>Where a <see cref="RetrainLoop"/> is.</summary>
public enum RetrainState
{
    /// <summary>Watching the trigger.</summary>
    Idle,
    /// <summary>A challenger is being trained and compared in the background.</summary>
    Training,
    /// <summary>A registered challenger is being rolled out.</summary>
    RollingOut,
    /// <summary>The last retrain ended; no new one starts before the cooldown has passed.</summary>
    CoolingDown,
}

namespace StreamMl.Operators.Monitoring;

/// <summary>How urgent an alert is; written to alert rows in lower case.</summary>
public enum AlertSeverity
{
    /// <summary>Worth a look.</summary>
    Info,
    /// <summary>Something changed that may need action (the default).</summary>
    Warning,
    /// <summary>Needs action now.</summary>
    Critical,
}

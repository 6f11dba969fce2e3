namespace StreamMl.Operators.Reporting;

/// <summary>One model metric (accuracy, log loss, ...) of one variant over time.</summary>
public sealed class MetricSeries
{
    /// <summary>Metric name.</summary>
    public required string Name { get; init; }

    /// <summary>Model variant or version ("" for a single model).</summary>
    public string Variant { get; init; } = "";

    /// <summary>Values in time order.</summary>
    public IReadOnlyList<MetricPoint> Points { get; init; } = [];
}

/// <summary>A metric's value at an event time.</summary>
/// <param name="Time">UTC microseconds since the Unix epoch.</param>
/// <param name="Value">The metric.</param>
/// <param name="Rows">Labelled rows behind the value.</param>
public sealed record MetricPoint(long Time, double Value, long Rows = 0);

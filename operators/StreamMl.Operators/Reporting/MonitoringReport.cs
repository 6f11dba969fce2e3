using System.Text.Json;
using System.Text.Json.Serialization;
using StreamMl.Engine;

namespace StreamMl.Operators.Reporting;

/// <summary>The monitoring state of one pipeline at one moment: row counts, drift per feature against its reference
/// (histograms, statistics with thresholds, closed windows over time), the model's score distribution and delayed-label
/// metrics, alerts and detector counters, and tables that other components add. Plain data: build it with
/// <see cref="MonitoringReportBuilder"/>, save it as JSON (<see cref="ToJson"/>) and render it with
/// <see cref="ReportHtml.Render"/>.</summary>
public sealed class MonitoringReport
{
    /// <summary>Format version of the JSON; readers reject versions they do not know.</summary>
    public const int CurrentVersion = 1;

    /// <summary>Format version.</summary>
    public int Version { get; init; } = CurrentVersion;

    /// <summary>The pipeline (or model, or job) the report is about.</summary>
    public required string Pipeline { get; init; }

    /// <summary>When the report was built, UTC microseconds since the Unix epoch.</summary>
    public long GeneratedAt { get; init; }

    /// <summary>Where "current" comes from, in words, e.g. "the latest closed window" or "everything since start".</summary>
    public string CurrentScope { get; init; } = "";

    /// <summary>Rows in, dead-lettered, filtered and out; null when unknown.</summary>
    public RowCounts? Rows { get; init; }

    /// <summary>Worst status over the features: ok, warning, drift or unknown.</summary>
    public string Status { get; init; } = "unknown";

    /// <summary>One section per monitored feature, in the order of the drift options.</summary>
    public IReadOnlyList<FeatureSection> Features { get; init; } = [];

    /// <summary>The model's score distribution against its reference; null when no score column is monitored.</summary>
    public FeatureSection? Score { get; init; }

    /// <summary>Model metrics from delayed labels (per variant), over time.</summary>
    public IReadOnlyList<MetricSeries> Metrics { get; init; } = [];

    /// <summary>Alerts, oldest event time first.</summary>
    public IReadOnlyList<AlertEntry> Alerts { get; init; } = [];

    /// <summary>Alerts raised in total (may exceed <see cref="Alerts"/> when only the latest are kept).</summary>
    public long AlertsRaised { get; init; }

    /// <summary>Detections suppressed by the cooldown.</summary>
    public long AlertsSuppressed { get; init; }

    /// <summary>Alert rows lost because alert sinks were too slow.</summary>
    public long AlertsDropped { get; init; }

    /// <summary>Counters of each detector or monitor.</summary>
    public IReadOnlyList<DetectorSummary> Detectors { get; init; } = [];

    /// <summary>Further tables (recommender variants, model versions, ...), shown in order at the end.</summary>
    public IReadOnlyList<ReportTable> Tables { get; init; } = [];

    /// <summary>Indented JSON with camel-case names.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, ReportJsonContext.Default.MonitoringReport);

    /// <summary>Reads a report written by <see cref="ToJson"/>.</summary>
    public static MonitoringReport FromJson(string json)
    {
        MonitoringReport? report;
        try
        {
            report = JsonSerializer.Deserialize(json, ReportJsonContext.Default.MonitoringReport);
        }
        catch (JsonException e)
        {
            throw new StreamMlException($"monitoring report JSON is malformed at {e.Path} (line {e.LineNumber}): {e.Message}", e);
        }
        if (report is null) throw new StreamMlException("monitoring report JSON is 'null'; expected an object with 'pipeline'");
        if (report.Version != CurrentVersion)
            throw new StreamMlException($"monitoring report has format version {report.Version}; this build reads version {CurrentVersion}");
        return report;
    }
}

/// <summary>Source-generated JSON metadata for the report (no reflection at run time).</summary>
[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(MonitoringReport))]
internal sealed partial class ReportJsonContext : JsonSerializerContext;

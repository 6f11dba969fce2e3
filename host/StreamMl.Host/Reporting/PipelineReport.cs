using System.Globalization;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using StreamMl.Host.Pipelines;
using StreamMl.Operators.Reporting;

namespace StreamMl.Host.Reporting;

/// <summary>Composes a managed pipeline's <see cref="MonitoringReport"/> from what its stages recorded: row counters,
/// the drift stage's windows (current = the latest closed window, as Query.GetDriftReport), alerts, monitors, the
/// model's delayed-label metrics and the recommender's variants. Computes nothing itself.</summary>
internal static class PipelineReport
{
    /// <summary>Score columns shown as the model's score distribution when the drift section watches them.</summary>
    private static readonly string[] s_scoreColumns = ["score", "prediction", "probability"];

    public static MonitoringReport Build(ManagedPipeline pipeline)
    {
        var runtime = pipeline.Runtime;
        var builder = new MonitoringReportBuilder(pipeline.Name).WithRows(Rows(pipeline));
        // Alerts first: the monitors' latest detection comes from them.
        builder.AddAlerts(runtime.Report.Alerts)
            .WithAlertCounts(runtime.Alerts.Published, runtime.Alerts.Suppressed, runtime.Alerts.Dropped);
        var (profile, thresholds, windows) = runtime.Report.Drift();
        if (profile is not null && windows.Count > 0)
        {
            builder.AddDrift(profile, windows[^1].Report, windows, thresholds, "the latest closed drift window");
            if (windows[^1].Report.Features.FirstOrDefault(f => s_scoreColumns.Contains(f.Name)) is { } score) builder.WithScoreColumn(score.Name);
        }
        foreach (var monitor in runtime.Report.Monitors) builder.AddMonitor(monitor);
        var metrics = runtime.Models.Metrics();
        if (metrics.LabelledRows > 0)
        {
            var now = (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks / 10;
            var variant = runtime.Models.Current.Primary?.Id ?? "";
            builder.AddMetric("accuracy", variant, new MetricPoint(now, metrics.Accuracy, metrics.LabelledRows));
            builder.AddMetric("log loss", variant, new MetricPoint(now, metrics.LogLoss, metrics.LabelledRows));
            if (metrics.ShadowRows > 0) builder.AddMetric("shadow agreement", variant, new MetricPoint(now, metrics.ShadowAgreement, metrics.ShadowRows));
        }
        if (runtime.Recommend is { } recommend)
        {
            var report = new Protos.MetricsReport();
            Recommendations.RecommendAnswers.AddMetrics(recommend, report);
            if (report.RecommendVariants.Count > 0) builder.AddTable(Table("Recommender variants", "Online metrics per A/B variant.", report.RecommendVariants));
            if (report.RecommendComparisons.Count > 0) builder.AddTable(Table("Recommender comparisons", "Each variant against the first.", report.RecommendComparisons));
        }
        foreach (var table in ReportLineage.Tables(runtime)) builder.AddTable(table);
        return builder.Build();
    }

    /// <summary>Source rows, dead letters, rows rejected without a dead letter, and rows the last stage passed on; in
    /// flight is what a running pipeline has not finished yet (0 once it has ended).</summary>
    private static RowCounts Rows(ManagedPipeline pipeline)
    {
        var status = pipeline.Status();
        if (status.Stages.Count == 0) return new RowCounts();
        var rowsIn = status.Stages[0].RowsOut;
        var rowsOut = status.Stages[^1].RowsOut;
        var rejected = status.Stages.Sum(s => s.RowsRejected);
        var deadLetters = pipeline.Runtime.DeadLetters.Count;
        var ended = pipeline.Current?.Completion.IsCompleted ?? true;
        return new RowCounts
        {
            In = rowsIn,
            DeadLetters = deadLetters,
            Filtered = Math.Max(0, rejected - deadLetters),
            Out = rowsOut,
            InFlight = ended ? 0 : Math.Max(0, rowsIn - rowsOut - rejected),
        };
    }

    /// <summary>A table with one column per field of <typeparamref name="T"/> (any protobuf message), so a component
    /// that reports its figures as messages gets a report section without code of its own.</summary>
    internal static ReportTable Table<T>(string title, string description, IEnumerable<T> rows) where T : IMessage<T>, new()
    {
        var fields = new T().Descriptor.Fields.InFieldNumberOrder();
        return new ReportTable
        {
            Title = title,
            Description = description,
            Columns = [.. fields.Select(f => f.Name)],
            Rows = [.. rows.Select(r => (IReadOnlyList<string>)[.. fields.Select(f => Cell(f, r))])],
        };
    }

    private static string Cell(FieldDescriptor field, IMessage message) => field.Accessor.GetValue(message) switch
    {
        double d => d.ToString("G6", CultureInfo.InvariantCulture),
        float f => f.ToString("G6", CultureInfo.InvariantCulture),
        IFormattable v => v.ToString(null, CultureInfo.InvariantCulture),
        null => "",
        var v => v.ToString() ?? "",
    };
}

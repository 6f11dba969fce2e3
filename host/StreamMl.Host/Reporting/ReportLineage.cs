using System.Globalization;
using StreamMl.Host.Pipelines;
using StreamMl.Host.Registry;
using StreamMl.Operators.Reporting;

namespace StreamMl.Host.Reporting;

/// <summary>The report's lineage section for a pipeline whose serving model comes from a registry: the serving version
/// and its ancestors (parent, what triggered a retrain, the data window, the champion decision) and the model's latest
/// registry history (retrain steps, rollout transitions, promotions). Reads the registry; computes nothing.</summary>
internal static class ReportLineage
{
    /// <summary>History events shown, newest last.</summary>
    public const int HistoryShown = 50;

    public static IReadOnlyList<ReportTable> Tables(PipelineRuntime runtime)
    {
        var serving = runtime.Models.Current.Primary;
        if (serving is null || !serving.Lineage.TryGetValue("registry", out var root)
            || !int.TryParse(serving.Version, NumberStyles.None, CultureInfo.InvariantCulture, out var version))
            return [];
        var registry = new ModelRegistry(root);
        var chain = registry.Lineage(serving.Name, version);
        var history = registry.Stages(serving.Name).History;
        return
        [
            new ReportTable
            {
                Title = "Model lineage",
                Description = $"{serving.Id} serves; each row's parent was in production when it was trained.",
                Columns = ["version", "parent", "created", "trigger", "data window", "champion decision"],
                Rows = [.. chain.Select(m => (IReadOnlyList<string>)
                [
                    m.Version.ToString(CultureInfo.InvariantCulture),
                    m.Parent?.ToString(CultureInfo.InvariantCulture) ?? "",
                    m.CreatedUtc.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture),
                    m.Retrain?.Trigger ?? "",
                    m.Retrain?.DataWindow ?? m.Data?.Source ?? "",
                    m.Champion is { } c
                        ? string.Create(CultureInfo.InvariantCulture, $"{c.Metric} {c.ChallengerMean:F4} vs v{c.ProductionVersion} {c.ChampionMean:F4} ({c.Basis}): {(c.Passed ? "passed" : "failed")}")
                        : "",
                ])],
            },
            new ReportTable
            {
                Title = "Model history",
                Description = $"The latest {Math.Min(HistoryShown, history.Count)} of {history.Count} registry events of '{serving.Name}'.",
                Columns = ["time", "version", "action", "reason"],
                Rows = [.. history.Skip(Math.Max(0, history.Count - HistoryShown)).Select(e => (IReadOnlyList<string>)
                [
                    e.AtUtc.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture),
                    e.Version.ToString(CultureInfo.InvariantCulture),
                    e.Action,
                    e.Reason ?? "",
                ])],
            },
        ];
    }
}

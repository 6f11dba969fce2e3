using System.Globalization;
using System.Text;
using System.Text.Json;

namespace StreamMl.Benchmarks.Harness;

/// <summary>The result of a scenario: every variant's median run over the interleaved rounds.</summary>
public sealed record ScenarioResult(string Id, string Title, string? Unavailable, int Rounds, IReadOnlyList<RunMeasurement> Medians)
{
    /// <summary>The harness command that produced the result.</summary>
    public string Command { get; init; } = "";

    /// <summary>When it ran (UTC).</summary>
    public DateTime RunAtUtc { get; init; }

    /// <summary>StreamMl's median, the reference of the ratios.</summary>
    public RunMeasurement? StreamMl => Medians.FirstOrDefault(m => m.IsStreamMl);

    /// <summary>StreamMl's rows/s divided by this variant's: above 1 means StreamMl is faster.</summary>
    public double SpeedupOver(RunMeasurement peer) => StreamMl is { } s ? s.RowsPerSecond / peer.RowsPerSecond : double.NaN;
}

/// <summary>Runs scenarios round by round, variant after variant (A, B, C, A, B, C ...), so that machine noise hits
/// every variant alike, and keeps each variant's median run.</summary>
public static class ScenarioRunner
{
    /// <summary>Runs <paramref name="scenario"/> for <paramref name="rounds"/> interleaved rounds, after one warm-up round.</summary>
    public static async Task<ScenarioResult> RunAsync(IScenario scenario, ScenarioSize size, int rounds, TextWriter log, CancellationToken cancellationToken = default)
    {
        if (scenario.Unavailable is { } reason)
        {
            log.WriteLine($"{scenario.Id} {scenario.Title}: not run: {reason}");
            return new ScenarioResult(scenario.Id, scenario.Title, reason, 0, []);
        }
        scenario.Prepare(size);
        var runs = scenario.Variants.ToDictionary(v => v.Name, _ => new List<RunMeasurement>());
        var warmups = size == ScenarioSize.Full ? 1 : 0;
        for (var round = -warmups; round < rounds; round++)
        {
            foreach (var variant in scenario.Variants)
            {
                var measurement = await ScenarioMeasure.RunAsync(variant, size, cancellationToken).ConfigureAwait(false);
                if (round < 0) continue;
                runs[variant.Name].Add(measurement);
                log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{scenario.Id} round {round + 1}/{rounds} {variant.Name,-28} {measurement.RowsPerSecond,14:N0} rows/s  p99 {measurement.P99Micros,10:N1} µs  {measurement.BytesPerRow,8:N1} B/row"));
            }
        }
        var medians = scenario.Variants.Select(v => Median(runs[v.Name])).ToList();
        return new ScenarioResult(scenario.Id, scenario.Title, null, rounds, medians);
    }

    private static RunMeasurement Median(List<RunMeasurement> runs)
    {
        var ordered = runs.OrderBy(r => r.Elapsed).ToList();
        return ordered[ordered.Count / 2];
    }

    /// <summary>A Markdown table of a result, with ratios against StreamMl.</summary>
    public static string ToMarkdown(ScenarioResult result)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"### {result.Id}: {result.Title}");
        text.AppendLine();
        if (result.Command.Length > 0)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"`{result.Command}`, {result.RunAtUtc:yyyy-MM-dd HH:mm} UTC, median of {result.Rounds} interleaved rounds.");
            text.AppendLine();
        }
        if (result.Unavailable is not null)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"Not run: {result.Unavailable}");
            return text.ToString();
        }
        text.AppendLine("| Variant | Rows/s | MB/s | StreamMl speed-up | B/row | GC 0/1/2 | p50 µs | p99 µs | p99.9 µs | Peak MB |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var m in result.Medians)
        {
            text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {(m.IsStreamMl ? $"**{m.Variant}**" : m.Variant)} | {m.RowsPerSecond:N0} | {(m.Bytes == 0 ? "–" : m.MegabytesPerSecond.ToString("N1", CultureInfo.InvariantCulture))} | {(m.IsStreamMl ? "1.00" : m.LatencyOnly ? "– (fixed rate)" : result.SpeedupOver(m).ToString("N2", CultureInfo.InvariantCulture) + "×")} | {m.BytesPerRow:N1} | {m.Gen0}/{m.Gen1}/{m.Gen2} | {Format(m.P50Micros)} | {Format(m.P99Micros)} | {Format(m.P999Micros)} | {m.PeakWorkingSet / 1e6:N0} |"));
        }
        return text.ToString();
    }

    private static string Format(double micros) => double.IsNaN(micros) ? "–" : micros.ToString("N1", CultureInfo.InvariantCulture);

    private static readonly JsonSerializerOptions s_json = new()
    {
        WriteIndented = true,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>A report as indented JSON.</summary>
    public static string ToJson(HarnessReport report) => JsonSerializer.Serialize(report, s_json);

    /// <summary>A report read back from <see cref="ToJson"/>'s output.</summary>
    public static HarnessReport? FromJson(string json)
    {
        try { return JsonSerializer.Deserialize<HarnessReport>(json, s_json); }
        catch (JsonException) { return null; }
    }
}

/// <summary>Everything docs/BENCHMARKS.md's harness section shows: the latest result of each scenario (runs of single
/// scenarios replace only their own) and the latest tuning sweep.</summary>
/// <param name="Scenarios">Scenario results, in scenario order.</param>
/// <param name="Tuning">Tuning points.</param>
/// <param name="TuningCommand">The command that produced the tuning points.</param>
/// <param name="TuningRunAtUtc">When the tuning points were measured.</param>
public sealed record HarnessReport(IReadOnlyList<ScenarioResult> Scenarios, IReadOnlyList<TuningPoint> Tuning, string TuningCommand, DateTime TuningRunAtUtc)
{
    /// <summary>This report with <paramref name="newer"/>'s scenarios and tuning points replacing its own.</summary>
    public HarnessReport Merge(HarnessReport newer, IReadOnlyList<string> order)
    {
        var byId = Scenarios.ToDictionary(s => s.Id);
        foreach (var result in newer.Scenarios) byId[result.Id] = result;
        var scenarios = order.Where(byId.ContainsKey).Select(id => byId[id]).ToList();
        return newer.Tuning.Count > 0
            ? new HarnessReport(scenarios, newer.Tuning, newer.TuningCommand, newer.TuningRunAtUtc)
            : this with { Scenarios = scenarios };
    }
}

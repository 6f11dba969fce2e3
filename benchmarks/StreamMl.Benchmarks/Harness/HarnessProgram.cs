using System.Globalization;
using System.Text;
using StreamMl.Benchmarks.Harness.Scenarios;

namespace StreamMl.Benchmarks.Harness;

/// <summary><c>harness [all|S1|S2|...|tuning] [--smoke] [--rounds N] [--no-write]</c>: runs scenarios interleaved against
/// their peers, prints every run, and (unless --no-write or --smoke) rewrites the harness section of docs/BENCHMARKS.md,
/// docs/benchmarks/harness.json and the PNG charts.</summary>
public static class HarnessProgram
{
    /// <summary>Every scenario the harness knows, in order.</summary>
    public static IReadOnlyList<IScenario> Scenarios() =>
    [
        new S1RingHandoff(),
        new S2SensorPipeline(),
        new S3CsvToParquet(),
        new S4Kafka(),
        new S5Grpc(),
        new S6Python(),
        new S7GrpcModel(),
        new S8RecommendLatency(),
    ];

    /// <summary>Entry point of the harness.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter log)
    {
        var selection = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal)) ?? "all";
        var size = args.Contains("--smoke") ? ScenarioSize.Smoke : ScenarioSize.Full;
        var roundsIndex = Array.IndexOf(args, "--rounds");
        var rounds = roundsIndex >= 0 ? int.Parse(args[roundsIndex + 1], CultureInfo.InvariantCulture) : size == ScenarioSize.Smoke ? 1 : 5;
        var write = size == ScenarioSize.Full && !args.Contains("--no-write");

        var scenarios = Scenarios().Where(s => selection == "all" || s.Id.Equals(selection, StringComparison.OrdinalIgnoreCase)).ToList();
        var runTuning = selection is "all" or "tuning";
        if (scenarios.Count == 0 && !runTuning)
        {
            log.WriteLine($"unknown scenario '{selection}'; choose all, tuning or one of: {string.Join(", ", Scenarios().Select(s => s.Id))}");
            return 2;
        }

        var command = ("dotnet run -c Release --project benchmarks/StreamMl.Benchmarks -- harness " + string.Join(' ', args)).TrimEnd();
        var results = new List<ScenarioResult>();
        foreach (var scenario in scenarios)
            results.Add(await ScenarioRunner.RunAsync(scenario, size, rounds, log) with { Command = command, RunAtUtc = DateTime.UtcNow });
        var tuning = runTuning ? await TuningViews.RunAsync(size, log) : [];
        var report = new HarnessReport(results, tuning, runTuning ? command : "", DateTime.UtcNow);

        if (write) report = await WriteAsync(report, log);
        log.WriteLine();
        log.WriteLine(Report(report));
        return 0;
    }

    private static string Report(HarnessReport report)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture,
            $"Machine: {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}.");
        text.AppendLine("`dotnet run -c Release --project benchmarks/StreamMl.Benchmarks -- harness all` reruns everything; `harness S2` reruns one scenario and keeps the others' latest results.");
        text.AppendLine("Variants run interleaved (A, B, C, A, B, C ...) after a warm-up round; each row is the variant's median run.");
        text.AppendLine("\"StreamMl speed-up\" is StreamMl's rows/s divided by the peer's. B/row counts managed allocations on all threads; \"Peak MB\" is the process's working set.");
        text.AppendLine();
        foreach (var result in report.Scenarios) text.AppendLine(ScenarioRunner.ToMarkdown(result));
        if (report.Tuning.Count > 0)
        {
            text.AppendLine("### Tuning views (in-memory sensor pipeline, 32 float features)");
            text.AppendLine();
            text.AppendLine(CultureInfo.InvariantCulture, $"`{report.TuningCommand}`, {report.TuningRunAtUtc:yyyy-MM-dd HH:mm} UTC, median of 3 interleaved rounds.");
            text.AppendLine();
            text.AppendLine(TuningViews.ToMarkdown(report.Tuning));
        }
        text.AppendLine("Charts: [speed-ups](benchmarks/harness.png), [batch size](benchmarks/tuning-batch-size.png); raw data: [harness.json](benchmarks/harness.json).");
        return text.ToString();
    }

    private static async Task<HarnessReport> WriteAsync(HarnessReport report, TextWriter log)
    {
        var root = RepositoryRoot();
        var docs = Path.Combine(root, "docs");
        var folder = Path.Combine(docs, "benchmarks");
        Directory.CreateDirectory(folder);
        var jsonPath = Path.Combine(folder, "harness.json");
        if (File.Exists(jsonPath) && ScenarioRunner.FromJson(await File.ReadAllTextAsync(jsonPath)) is { } previous)
            report = previous.Merge(report, [.. Scenarios().Select(s => s.Id)]);
        await File.WriteAllTextAsync(jsonPath, ScenarioRunner.ToJson(report));
        Charts.SpeedUps(report.Scenarios, Path.Combine(folder, "harness.png"));
        if (report.Tuning.Count > 0) Charts.BatchSizeKnee(report.Tuning, Path.Combine(folder, "tuning-batch-size.png"));

        var benchmarksPath = Path.Combine(docs, "BENCHMARKS.md");
        var document = await File.ReadAllTextAsync(benchmarksPath);
        const string heading = "## Harness scenarios (issue 8)";
        var start = document.IndexOf(heading, StringComparison.Ordinal);
        var next = start < 0 ? -1 : document.IndexOf("\n## ", start + heading.Length, StringComparison.Ordinal);
        var section = heading + "\n\n" + Report(report).TrimEnd() + "\n";
        document = start < 0 ? document.TrimEnd() + "\n\n" + section
            : document[..start] + section + (next < 0 ? "" : "\n" + document[(next + 1)..]);
        await File.WriteAllTextAsync(benchmarksPath, document);
        log.WriteLine($"wrote {benchmarksPath}, {jsonPath} and charts");
        return report;
    }

    /// <summary>The folder holding StreamMl.sln, found by walking up from the working directory and the binaries.</summary>
    public static string RepositoryRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "StreamMl.sln"))) return dir.FullName;
        throw new InvalidOperationException("cannot find StreamMl.sln above the working directory; run the harness from the repository");
    }
}

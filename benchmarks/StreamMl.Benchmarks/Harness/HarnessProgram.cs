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

        var results = new List<ScenarioResult>();
        foreach (var scenario in scenarios) results.Add(await ScenarioRunner.RunAsync(scenario, size, rounds, log));
        var tuning = runTuning ? await TuningViews.RunAsync(size, log) : [];

        var markdown = Report(results, tuning, args);
        log.WriteLine();
        log.WriteLine(markdown);
        if (write) await WriteAsync(results, tuning, markdown, log);
        return 0;
    }

    private static string Report(IReadOnlyList<ScenarioResult> results, IReadOnlyList<TuningPoint> tuning, string[] args)
    {
        var text = new StringBuilder();
        var command = ("dotnet run -c Release --project benchmarks/StreamMl.Benchmarks -- harness " + string.Join(' ', args)).TrimEnd();
        text.AppendLine("Command: `" + command + "`");
        text.AppendLine(CultureInfo.InvariantCulture,
            $"Machine: {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}; run {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC.");
        text.AppendLine("Variants run interleaved (A, B, C, A, B, C ...) after a warm-up round; each row is the variant's median run.");
        text.AppendLine("\"StreamMl speed-up\" is StreamMl's rows/s divided by the peer's. B/row counts managed allocations on all threads.");
        text.AppendLine();
        foreach (var result in results) text.AppendLine(ScenarioRunner.ToMarkdown(result));
        if (tuning.Count > 0)
        {
            text.AppendLine("### Tuning views (in-memory sensor pipeline, 32 float features)");
            text.AppendLine();
            text.AppendLine(TuningViews.ToMarkdown(tuning));
        }
        text.AppendLine("Charts: [speed-ups](benchmarks/harness.png), [batch size](benchmarks/tuning-batch-size.png); raw data: [harness.json](benchmarks/harness.json).");
        return text.ToString();
    }

    private static async Task WriteAsync(IReadOnlyList<ScenarioResult> results, IReadOnlyList<TuningPoint> tuning, string markdown, TextWriter log)
    {
        var root = RepositoryRoot();
        var docs = Path.Combine(root, "docs");
        var folder = Path.Combine(docs, "benchmarks");
        Directory.CreateDirectory(folder);
        await File.WriteAllTextAsync(Path.Combine(folder, "harness.json"), ScenarioRunner.ToJson(results));
        Charts.SpeedUps(results, Path.Combine(folder, "harness.png"));
        if (tuning.Count > 0) Charts.BatchSizeKnee(tuning, Path.Combine(folder, "tuning-batch-size.png"));

        var benchmarksPath = Path.Combine(docs, "BENCHMARKS.md");
        var document = await File.ReadAllTextAsync(benchmarksPath);
        const string heading = "## Harness scenarios (issue 8)";
        var start = document.IndexOf(heading, StringComparison.Ordinal);
        var next = start < 0 ? -1 : document.IndexOf("\n## ", start + heading.Length, StringComparison.Ordinal);
        var section = heading + "\n\n" + markdown.TrimEnd() + "\n";
        document = start < 0 ? document.TrimEnd() + "\n\n" + section
            : document[..start] + section + (next < 0 ? "" : "\n" + document[(next + 1)..]);
        await File.WriteAllTextAsync(benchmarksPath, document);
        log.WriteLine($"wrote {benchmarksPath}, {folder}/harness.json and charts");
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

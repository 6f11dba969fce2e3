using System.Diagnostics;
using System.Text.Json;
using HdrHistogram;
using StreamMl.Connectors.Files;
using StreamMl.Engine;
using StreamMl.Operators.Drift;
using StreamMl.Operators.Features;
using StreamMl.Operators.Scoring;

namespace StreamMl.Benchmarks.Harness.Scenarios;

/// <summary>S6: the credit pipeline as a Python user writes it (pandas read_csv, SimpleImputer + RobustScaler, a
/// scikit-learn gradient-boosted model, scipy's ks_2samp per column) against StreamMl doing the same work as one
/// pipeline (CSV source, median imputation + robust scaling, a gradient-boosted ONNX model, binned KS drift). Both fit
/// on the original file (setup) and score the ×10 file. Runs when Debian's python3-pandas, -sklearn and -scipy are
/// importable by /usr/bin/python3.</summary>
public sealed class S6Python : IScenario
{
    private const string Python = "/usr/bin/python3";
    private static readonly Lazy<string?> s_unavailable = new(CheckPython);
    private static readonly Lazy<(FeaturePipeline Features, byte[] Model, ReferenceProfile Profile)> s_full = new(() => FitStreamMl(100));
    private static readonly Lazy<(FeaturePipeline Features, byte[] Model, ReferenceProfile Profile)> s_smoke = new(() => FitStreamMl(10));

    /// <summary>The fitted features, the gradient-boosted model (100 trees, 31 leaves; 10 for smoke runs) and the drift
    /// profile of the credit data, as S6 uses them (S7 serves the same model from the host).</summary>
    internal static (FeaturePipeline Features, byte[] Model, ReferenceProfile Profile) StreamMlSetup(ScenarioSize size) =>
        size == ScenarioSize.Smoke ? s_smoke.Value : s_full.Value;

    /// <inheritdoc/>
    public string Id => "S6";

    /// <inheritdoc/>
    public string Title => "credit CSV → impute + robust scale → gradient-boosted model → KS drift, against pandas + scikit-learn + scipy";

    /// <inheritdoc/>
    public string? Unavailable => s_unavailable.Value;

    /// <inheritdoc/>
    public void Prepare(ScenarioSize size)
    {
        _ = CreditWorkload.For(size);
        _ = StreamMlSetup(size);
        if (size != ScenarioSize.Full) return;
        // Steady state, as in a pipeline that runs for hours: the runner's one warm-up round is not enough for .NET's
        // dynamic PGO, whose instrumented tier re-compiles the hot methods over the next few runs (the JIT's thread took
        // 130-270 ns of CPU per row in the 2nd and 3rd runs, 67 in the 4th and 5th; stage CPU in docs/BENCHMARKS.md,
        // "S6 after the tree-major evaluator"). pandas, scikit-learn and scipy run precompiled code and need none.
        for (var run = 0; run < WarmUpRuns; run++)
            foreach (var variant in Variants.OfType<StreamMlVariant>())
                variant.RunAsync(size, ScenarioMeasure.NewHistogram(), CancellationToken.None, report: false).AsTask().GetAwaiter().GetResult();
    }

    /// <summary>Untimed runs of each StreamMl variant in <see cref="Prepare"/>, before the runner's own warm-up round.</summary>
    private const int WarmUpRuns = 4;

    /// <inheritdoc/>
    public IReadOnlyList<IScenarioVariant> Variants => [new StreamMlVariant(), new PythonVariant(), new StreamMlVariant(csvThreads: 2), new StreamMlVariant(scoringWorkers: 2)];

    private static string Features(ScenarioSize size) => size == ScenarioSize.Smoke ? CreditWorkload.For(size).SmallCsv : CreditWorkload.For(size).LargeCsv;

    internal static readonly string[] s_columns = [.. CreditWorkload.Numeric, .. CreditWorkload.Categorical];

    private static (FeaturePipeline, byte[], ReferenceProfile) FitStreamMl(int trees)
    {
        var batches = WorkloadTraining.ReadAll(CreditWorkload.SourceCsv);
        var builder = FeaturePipeline.Create("credit-robust");
        foreach (var column in s_columns) builder = builder.Impute(column, ImputeStrategy.Median).RobustScale(column);
        var features = builder.Build().Fit(batches);
        var profile = new ReferenceProfileBuilder(new ProfileOptions { Columns = s_columns });
        foreach (var batch in batches) profile.Add(batch);
        var labels = batches.SelectMany(b => Enumerable.Range(0, b.Length)
            .Select(r => WorkloadTraining.Number(b[b.Schema.Require(CreditWorkload.Label)], r) > 0.5)).ToArray();
        var model = WorkloadTraining.FastTreeOnnx(WorkloadTraining.Matrix(features, batches), labels, features.FeatureCount, leaves: 31, trees: trees, seed: 5);
        foreach (var batch in batches) batch.Dispose();
        return (features, model, profile.Build());
    }

    /// <summary>StreamMl's pipeline; with <paramref name="csvThreads"/> the CSV parse threads (default: the source's
    /// default, 1 on 2 cores) or <paramref name="scoringWorkers"/> scoring workers, shown as reference rows so the effect of each is
    /// measured in the same run.</summary>
    private sealed class StreamMlVariant(int? csvThreads = null, int scoringWorkers = 1) : IScenarioVariant
    {
        public string Name => csvThreads is { } threads ? $"reference: StreamMl pipeline, CSV parsed by {threads} thread(s)"
            : scoringWorkers > 1 ? $"reference: StreamMl pipeline, {scoringWorkers} scoring workers" : "StreamMl pipeline";
        public bool IsStreamMl => csvThreads is null && scoringWorkers == 1;

        public Task<(long Rows, long Bytes)> RunAsync(ScenarioSize size, LongHistogram latency, CancellationToken cancellationToken) =>
            RunAsync(size, latency, cancellationToken, report: true).AsTask();

        public async ValueTask<(long Rows, long Bytes)> RunAsync(ScenarioSize size, LongHistogram latency, CancellationToken cancellationToken, bool report)
        {
            var (fitted, modelBytes, profile) = StreamMlSetup(size);
            var csv = Features(size);
            var features = fitted.Clone();
            using var model = OnnxModel.FromBytes(modelBytes, "gbt");
            using var scorer = new ScoringOperator(model, new ScoringOptions { FeatureColumns = features.OutputColumns, Workers = scoringWorkers });
            var drift = new DriftOperator(new DriftOptions { Profile = profile, Features = s_columns });
            var sink = new Connectors.Memory.CountingSink("discard");
            var clock = Stopwatch.GetTimestamp();
            var options = new FileSourceOptions { Paths = { csv } };
            if (csvThreads is { } threads) options.CsvParseThreads = threads;
            using var cpu = s_sampleCpu && report ? new ThreadCpuSampler(TimeSpan.FromMilliseconds(10)) : null;
            await using var pipeline = Pipeline.From(FileSource.Create(options), new PipelineOptions { Name = "s6" })
                .Then(features).Then(scorer).Then(drift).To(sink).Build();
            await pipeline.RunAsync(cancellationToken).ConfigureAwait(false);
            var elapsed = Stopwatch.GetTimestamp() - clock;
            latency.RecordValue(Math.Max(1, elapsed));
            if (report) Report(Name, pipeline, sink.Rows, Stopwatch.GetElapsedTime(clock, clock + elapsed), cpu);
            return (sink.Rows, new FileInfo(csv).Length);
        }
    }

    /// <summary>STREAMML_S6_CPU=1 samples every thread's CPU time during the StreamMl runs (a thread reading /proc every
    /// 10 ms) and prints it per row by stage (stderr, not part of the report).</summary>
    private static readonly bool s_sampleCpu = Environment.GetEnvironmentVariable("STREAMML_S6_CPU") == "1";

    /// <summary>Where the time went (stderr, not part of the report): each stage's busy time (work only) per row, so
    /// the limiting stage shows, and with STREAMML_S6_CPU=1 the CPU time per row of each stage's thread and of the
    /// whole process; 2 cores divided by the process's CPU per row is what an idle 2-core machine could reach.</summary>
    private static void Report(string variant, Pipeline pipeline, long rows, TimeSpan elapsed, ThreadCpuSampler? cpu)
    {
        if (rows == 0) return;
        static string PerRow(double seconds, long rows) => (seconds * 1e9 / rows).ToString("N0", System.Globalization.CultureInfo.InvariantCulture) + " ns";
        Console.Error.WriteLine($"S6 {variant}: {rows / elapsed.TotalSeconds:N0} rows/s, {PerRow(elapsed.TotalSeconds, rows)} wall/row; busy per row: " +
            string.Join(", ", pipeline.Stages.Select(s => $"{s.Name} {PerRow(s.Busy.TotalSeconds, rows)}")));
        if (cpu is null) return;
        var (groups, process) = cpu.Stop(name => name.StartsWith("s6/", StringComparison.Ordinal) ? name[3..]
            : name.StartsWith(".NET TP", StringComparison.Ordinal) || name.StartsWith(".NET ThreadPool", StringComparison.Ordinal) ? "thread pool"
            : name.Contains("GC", StringComparison.Ordinal) ? "GC" : name.Contains("Tiered", StringComparison.Ordinal) ? "JIT tiering" : "other: " + name);
        var load = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";
        Console.Error.WriteLine($"    CPU per row (load {load}): process {PerRow(process, rows)} → {2 / (process / rows) / 1e6:F2} M rows/s on 2 idle cores; " +
            string.Join(", ", groups.Where(g => g.Value > 0).OrderByDescending(g => g.Value).Select(g => $"{g.Key} {PerRow(g.Value, rows)}")));
    }

    private sealed class PythonVariant : IScenarioVariant
    {
        public string Name => "pandas + scikit-learn + scipy";
        public bool IsStreamMl => false;
        public bool TimesItself => true;

        public async Task<(long Rows, long Bytes)> RunAsync(ScenarioSize size, LongHistogram latency, CancellationToken cancellationToken)
        {
            var script = Path.Combine(HarnessProgram.RepositoryRoot(), "benchmarks", "python", "s6_pipeline.py");
            var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
            start.ArgumentList.Add(script);
            start.ArgumentList.Add(CreditWorkload.SourceCsv);
            start.ArgumentList.Add(Features(size));
            start.ArgumentList.Add(CreditWorkload.For(size).Trees.ToString(System.Globalization.CultureInfo.InvariantCulture));
            using var process = Process.Start(start)!;
            var output = await process.StandardOutput.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
            var error = await process.StandardError.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            if (process.ExitCode != 0) throw new InvalidOperationException($"{script} failed ({process.ExitCode}): {error}");
            using var result = JsonDocument.Parse(output.Trim().Split('\n')[^1]);
            var seconds = result.RootElement.GetProperty("seconds").GetDouble();
            latency.RecordValue(Math.Max(1, (long)(seconds * Stopwatch.Frequency)));
            return (result.RootElement.GetProperty("rows").GetInt64(), result.RootElement.GetProperty("bytes").GetInt64());
        }
    }

    private static string? CheckPython()
    {
        if (!File.Exists(Python)) return $"{Python} is missing (install Debian's python3, python3-pandas, python3-sklearn, python3-scipy)";
        try
        {
            using var process = Process.Start(new ProcessStartInfo(Python, "-c \"import pandas, sklearn, scipy\"") { RedirectStandardError = true })!;
            var error = process.StandardError.ReadToEnd();
            process.WaitForExit();
            return process.ExitCode == 0 ? null : $"{Python} cannot import pandas, sklearn and scipy (apt-get install python3-pandas python3-sklearn python3-scipy): {error.Trim()}";
        }
        catch (Exception ex)
        {
            return $"cannot run {Python}: {ex.Message}";
        }
    }
}

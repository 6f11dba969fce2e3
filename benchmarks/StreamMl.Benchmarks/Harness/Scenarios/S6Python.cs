using System.Diagnostics;
using System.Text.Json;
using HdrHistogram;
using Microsoft.ML;
using Microsoft.ML.Data;
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
    private static readonly Lazy<(FeaturePipeline Features, byte[] Model, ReferenceProfile Profile)> s_streamMl = new(FitStreamMl);

    /// <inheritdoc/>
    public string Id => "S6";

    /// <inheritdoc/>
    public string Title => "credit CSV → impute + robust scale → gradient-boosted model → KS drift, against pandas + scikit-learn + scipy";

    /// <inheritdoc/>
    public string? Unavailable => s_unavailable.Value;

    /// <inheritdoc/>
    public void Prepare()
    {
        _ = CreditWorkload.Instance;
        _ = s_streamMl.Value;
    }

    /// <inheritdoc/>
    public IReadOnlyList<IScenarioVariant> Variants => [new StreamMlVariant(), new PythonVariant()];

    private static string Features(ScenarioSize size) => size == ScenarioSize.Smoke ? CreditWorkload.Instance.SmallCsv : CreditWorkload.Instance.LargeCsv;

    private static readonly string[] s_columns = [.. CreditWorkload.Numeric, .. CreditWorkload.Categorical];

    private static (FeaturePipeline, byte[], ReferenceProfile) FitStreamMl()
    {
        var batches = ReadAll(CreditWorkload.SourceCsv);
        var builder = FeaturePipeline.Create("credit-robust");
        foreach (var column in s_columns) builder = builder.Impute(column, ImputeStrategy.Median).RobustScale(column);
        var features = builder.Build().Fit(batches);
        var width = features.FeatureCount;
        var matrix = new List<float>();
        var labels = new List<bool>();
        var profile = new ReferenceProfileBuilder(new ProfileOptions { Columns = s_columns });
        foreach (var raw in batches)
        {
            profile.Add(raw);
            using var featured = new ColumnBatch(features.Bind(raw.Schema), raw.Length);
            for (var c = 0; c < raw.Schema.Count; c++)
                raw[c].RawValues[..(raw.Length * ColumnTypes.SizeOf(raw.Schema[c].Type))].CopyTo(featured[raw.Schema[c].Name].RawValues);
            featured.Length = raw.Length;
            features.Process(featured, StageContext.Standalone("fit"));
            var block = new float[raw.Length * width];
            features.TransformToMatrix(featured, block, selectedOnly: true);
            matrix.AddRange(block);
            var label = raw[raw.Schema.Require(CreditWorkload.Label)];
            for (var row = 0; row < raw.Length; row++) labels.Add(label.Values<long>()[row] > 0);
        }
        var ml = new MLContext(seed: 5);
        var definition = SchemaDefinition.Create(typeof(MatrixRow));
        definition["Features"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, width);
        var all = matrix.ToArray();
        var data = ml.Data.LoadFromEnumerable(Enumerable.Range(0, labels.Count)
            .Select(r => new MatrixRow { Features = all.AsSpan(r * width, width).ToArray(), Label = labels[r] }), definition);
        var model = ml.BinaryClassification.Trainers.FastTree(numberOfLeaves: 31, numberOfTrees: 100).Fit(data);
        using var stream = new MemoryStream();
        ml.Model.ConvertToOnnx(model, data, stream, "Score", "Probability", "PredictedLabel");
        foreach (var batch in batches) batch.Dispose();
        return (features, stream.ToArray(), profile.Build());
    }

    private static List<ColumnBatch> ReadAll(string path)
    {
        var source = FileSource.Create(new FileSourceOptions { Paths = { path } });
        source.OpenAsync(new SourceContext("setup", new CollectingDeadLetterSink()), CancellationToken.None).AsTask().GetAwaiter().GetResult();
        var batches = new List<ColumnBatch>();
        bool more;
        do
        {
            var batch = new ColumnBatch(source.Schema);
            more = source.FillAsync(batch, CancellationToken.None).AsTask().GetAwaiter().GetResult();
            if (batch.Length > 0) batches.Add(batch); else batch.Dispose();
        }
        while (more);
        return batches;
    }

    private sealed class MatrixRow
    {
        public float[] Features { get; set; } = [];
        public bool Label { get; set; }
    }

    private sealed class StreamMlVariant : IScenarioVariant
    {
        public string Name => "StreamMl pipeline";
        public bool IsStreamMl => true;

        public async Task<(long Rows, long Bytes)> RunAsync(ScenarioSize size, LongHistogram latency, CancellationToken cancellationToken)
        {
            var (fitted, modelBytes, profile) = s_streamMl.Value;
            var csv = Features(size);
            var features = fitted.Clone();
            using var model = OnnxModel.FromBytes(modelBytes, "gbt");
            using var scorer = new ScoringOperator(model, new ScoringOptions { FeatureColumns = features.OutputColumns });
            var drift = new DriftOperator(new DriftOptions { Profile = profile, Features = s_columns });
            var sink = new Connectors.Memory.CountingSink("discard");
            var clock = Stopwatch.GetTimestamp();
            await using var pipeline = Pipeline.From(FileSource.Create(new FileSourceOptions { Paths = { csv } }), new PipelineOptions { Name = "s6" })
                .Then(features).Then(scorer).Then(drift).To(sink).Build();
            await pipeline.RunAsync(cancellationToken).ConfigureAwait(false);
            latency.RecordValue(Math.Max(1, Stopwatch.GetTimestamp() - clock));
            return (sink.Rows, new FileInfo(csv).Length);
        }
    }

    private sealed class PythonVariant : IScenarioVariant
    {
        public string Name => "pandas + scikit-learn + scipy";
        public bool IsStreamMl => false;
        public bool IsExternal => true;

        public async Task<(long Rows, long Bytes)> RunAsync(ScenarioSize size, LongHistogram latency, CancellationToken cancellationToken)
        {
            var script = Path.Combine(HarnessProgram.RepositoryRoot(), "benchmarks", "python", "s6_pipeline.py");
            var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
            start.ArgumentList.Add(script);
            start.ArgumentList.Add(CreditWorkload.SourceCsv);
            start.ArgumentList.Add(Features(size));
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

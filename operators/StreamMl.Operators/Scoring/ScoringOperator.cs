using StreamMl.Engine.Routing;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using StreamMl.Engine;
using StreamMl.Operators.Features;
using StreamMl.Operators.Features.Internal;
using StreamMl.Operators.Scoring.Internal;
using StreamMl.Operators.Scoring.Trees;

namespace StreamMl.Operators.Scoring;

/// <summary>How a <see cref="ScoringOperator"/> feeds its models and where it writes their outputs.</summary>
public sealed class ScoringOptions
{
    /// <summary>The float32 columns that form the model's [rows, features] input, in model order (usually
    /// <see cref="FeaturePipeline.OutputColumns"/>). Required.</summary>
    public required IReadOnlyList<string> FeatureColumns { get; init; }

    /// <summary>The model input to feed with the matrix; null (default) picks the only float [-1, features] input.</summary>
    public string? FeatureInput { get; init; }

    /// <summary>Batch column per model output name; outputs not listed get a snake_case name without ".output"
    /// ("Score.output" → "score", "PredictedLabel.output" → "predicted_label"). Default: none listed.</summary>
    public IReadOnlyDictionary<string, string>? OutputColumns { get; init; }

    /// <summary>String column that receives the name of the model that scored each row. Default "model_variant".</summary>
    public string VariantColumn { get; init; } = "model_variant";

    /// <summary>String or integer column whose hash routes rows to A/B variants. Default null: A/B routing disabled
    /// (<see cref="ScoringOperator.SetVariants"/> then throws).</summary>
    public string? RoutingKeyColumn { get; init; }

    /// <summary>Who evaluates tree-ensemble models. <see cref="TreeEvaluator.Auto"/> (default) runs a model whose ONNX
    /// graph the engine's own evaluator handles (ML.NET's LightGBM, FastTree and FastForest exports) on that evaluator,
    /// and every other model on ONNX Runtime; <see cref="TreeEvaluator.Ort"/> runs every model on ONNX Runtime.</summary>
    public TreeEvaluator TreeEvaluator { get; init; } = TreeEvaluator.Auto;

    /// <summary>Threads that score batches when the scorer is added to a pipeline with <c>Then(scorer)</c>: each takes
    /// every <see cref="Workers"/>-th batch and batches leave the stage in order (<see cref="IParallelOperator"/>).
    /// Default 1. Two pay off when the model is the slowest stage and a core is free (docs/BENCHMARKS.md, "Model stage:
    /// parallel workers").</summary>
    public int Workers { get; init; } = 1;

    /// <summary>Where shadow models' scores go besides <see cref="ScoringOperator.ShadowReports"/>. Default null.</summary>
    public IShadowRecorder? ShadowRecorder { get; init; }

    /// <summary>The float32 output column that shadow comparisons and <see cref="ShadowRecorder"/> read (e.g.
    /// "probability" of an ML.NET binary classifier, whose first output is the raw score). Default null: the first
    /// float32 output.</summary>
    public string? ShadowScoreColumn { get; init; }
}

/// <summary>Who evaluates tree-ensemble models (<see cref="ScoringOptions.TreeEvaluator"/>).</summary>
public enum TreeEvaluator
{
    /// <summary>The engine's compiled tree evaluator when it handles the whole graph, else ONNX Runtime.</summary>
    Auto,

    /// <summary>Always ONNX Runtime.</summary>
    Ort,
}

/// <summary>Receives the scores of shadow models, which are computed on every batch but never written to the batch.</summary>
public interface IShadowRecorder
{
    /// <summary>Called on the scoring thread after each batch, once per shadow model: <paramref name="shadowScores"/>
    /// and <paramref name="emittedScores"/> hold the first float output of the shadow and of the model that answered,
    /// one per batch row (unselected rows included; check <paramref name="batch"/>'s selection).</summary>
    void Record(OnnxModel shadow, ColumnBatch batch, ReadOnlySpan<float> shadowScores, ReadOnlySpan<float> emittedScores);
}

/// <summary>How a shadow model compares with the model that answered, over the selected rows it has seen.</summary>
/// <param name="Model">Shadow model name.</param>
/// <param name="Rows">Rows scored.</param>
/// <param name="MeanAbsoluteDifference">Mean |shadow score - emitted score| of the first float output.</param>
/// <param name="MaxAbsoluteDifference">Largest such difference.</param>
/// <param name="LabelAgreement">Share of rows whose first bool output (predicted label) agrees; NaN without one.</param>
public sealed record ShadowReport(string Model, long Rows, double MeanAbsoluteDifference, double MaxAbsoluteDifference, double LabelAgreement);

/// <summary>Scores batches with ONNX models through ONNX Runtime. The feature columns are gathered into a pinned
/// row-major [rows, features] float32 matrix that every model's input <see cref="OrtValue"/> points at (or, for a model
/// with one [-1, 1] input per feature column, each input points at the batch column itself: nothing is copied); outputs
/// land in pinned buffers bound once with <see cref="OrtIoBinding"/> and are copied into the batch's output columns, so
/// a batch allocates nothing (a partial batch is scored padded to one of a few sizes whose bindings are kept). Models can be replaced while the pipeline runs (<see cref="Deploy"/>: the swap
/// happens between two batches), split by a hash of a key (<see cref="SetVariants"/>) and shadowed
/// (<see cref="SetShadows"/>).</summary>
public sealed unsafe class ScoringOperator : IParallelOperator, IDisposable
{
    /// <summary>Hash buckets for A/B routing: weights are resolved to 1/10,000.</summary>
    public const int RoutingBuckets = TrafficSplit.Buckets;

    private readonly ScoringOptions _options;
    private readonly (ModelOutput Output, string[] Columns, ColumnType Type)[] _outputs;
    private readonly Dictionary<OnnxModel, IScoringRunner> _runners = new(ReferenceEqualityComparer.Instance);
    private readonly RunOptions _runOptions = new();
    private readonly Shared _shared;
    private readonly int _shadowScoreOutput;
    private readonly List<ScoringOperator> _workers = [];
    private Plan? _activePlan;
    private IScoringRunner[] _variantRunners = [];
    private IScoringRunner[] _shadowRunners = [];
    private NativeBuffer? _matrix;
    private int _capacity;
    private Schema? _boundSchema;
    private IntPtr[] _featurePointers = [];
    private int[] _featureIndex = [];
    private int[][] _outputIndex = [];
    private int _variantIndex = -1;
    private int _keyIndex = -1;
    private int[] _rowVariant = [];
    private int[] _codeVariant = new int[64];
    private float[] _emitted = [];
    private float[] _shadowScores = [];
    private bool _gather = true;

    /// <summary>Creates a scorer that answers with <paramref name="model"/>; the model's outputs fix the output columns
    /// (later models must have the same outputs).</summary>
    public ScoringOperator(OnnxModel model, ScoringOptions options, string name = "score")
    {
        _options = options;
        Name = name;
        if (options.FeatureColumns.Count == 0) throw new ScoringException("ScoringOptions.FeatureColumns is empty: name the float32 feature columns");
        RequireInputs(model, options);
        _outputs = model.Outputs.Select(o =>
        {
            var column = options.OutputColumns?.GetValueOrDefault(o.Name) ?? DefaultColumnName(o.Name);
            var type = o.ElementType switch
            {
                TensorElementType.Float => ColumnType.Float32,
                TensorElementType.Bool => ColumnType.Bool,
                TensorElementType.Int64 => ColumnType.Int64,
                TensorElementType.Int32 => ColumnType.Int32,
                TensorElementType.Double => ColumnType.Float64,
                _ => throw new ScoringException($"model '{model.Name}' output '{o.Name}' is {o.ElementType}; the scorer writes float, double, bool, int32 and int64 outputs"),
            };
            var columns = o.Width == 1 ? [column] : Enumerable.Range(0, o.Width).Select(i => $"{column}_{i}").ToArray();
            return (o, columns, type);
        }).ToArray();
        if (options.Workers < 1) throw new ScoringException($"ScoringOptions.Workers must be at least 1, got {options.Workers}");
        _shadowScoreOutput = options.ShadowScoreColumn is { } shadowColumn
            ? Array.FindIndex(_outputs, o => o.Type == ColumnType.Float32 && o.Columns.Length == 1 && o.Columns[0] == shadowColumn)
            : Array.FindIndex(_outputs, o => o.Type == ColumnType.Float32);
        if (options.ShadowScoreColumn is not null && _shadowScoreOutput < 0)
            throw new ScoringException($"ScoringOptions.ShadowScoreColumn '{options.ShadowScoreColumn}' is not a single float32 output column of model '{model.Name}'; its outputs are {string.Join(", ", _outputs.SelectMany(o => o.Columns))}");
        _shared = new Shared(new Plan([new Variant(model, RoutingBuckets)], []));
        _ = TreeProgramFor(model);
    }

    /// <summary>A worker of <paramref name="primary"/>: the same options, outputs and models (deploys, variants and
    /// shadows reach every worker at its next batch; shadow statistics are pooled), its own runners and buffers.</summary>
    private ScoringOperator(ScoringOperator primary)
    {
        _options = primary._options;
        Name = primary.Name;
        _outputs = primary._outputs;
        _shadowScoreOutput = primary._shadowScoreOutput;
        _shared = primary._shared;
    }

    /// <inheritdoc/>
    public int Workers => _options.Workers;

    /// <summary>Another scorer for another pipeline thread (<see cref="IParallelOperator"/>), sharing this one's
    /// models; this scorer disposes it.</summary>
    public IBatchOperator CreateWorker()
    {
        var worker = new ScoringOperator(this);
        lock (_workers) _workers.Add(worker);
        return worker;
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <summary>The batch columns written, per model output, in output order.</summary>
    public IReadOnlyList<string> OutputColumns => _outputs.SelectMany(o => o.Columns).ToArray();

    /// <summary>The models answering now, with their share of rows (1 when there is one).</summary>
    public IReadOnlyList<(OnnxModel Model, double Share)> Variants
    {
        get
        {
            var variants = Volatile.Read(ref _shared.Plan).Variants;
            var previous = 0;
            return variants.Select(v => { var share = (v.UpperBucket - previous) / (double)RoutingBuckets; previous = v.UpperBucket; return (v.Model, share); }).ToArray();
        }
    }

    /// <summary>The shadow models now running.</summary>
    public IReadOnlyList<OnnxModel> Shadows => Volatile.Read(ref _shared.Plan).Shadows;

    /// <summary>Model changes applied so far (each takes effect at the next batch).</summary>
    public long Swaps => Interlocked.Read(ref _shared.Swaps);

    /// <summary>Replaces the answering model (and any A/B split) by <paramref name="model"/>. Thread-safe; the batch
    /// being scored finishes with the old model and the next one uses the new model. Shadows are kept.</summary>
    public void Deploy(OnnxModel model)
    {
        Validate(model);
        Publish(plan => new Plan([new Variant(model, RoutingBuckets)], plan.Shadows));
    }

    /// <summary>Splits rows between models by weight: a row goes to a variant by FNV-1a hash of its
    /// <see cref="ScoringOptions.RoutingKeyColumn"/> value, so the same key always meets the same model. Every variant
    /// scores the whole batch and each row keeps its own variant's outputs: the cost is one inference per variant, and
    /// tensor shapes stay fixed so nothing is allocated (packing rows per variant would change shapes every batch).</summary>
    public void SetVariants(params (OnnxModel Model, double Weight)[] variants)
    {
        if (_options.RoutingKeyColumn is null)
            throw new ScoringException("A/B variants need ScoringOptions.RoutingKeyColumn: the column whose hash routes each row");
        if (variants.Length == 0) throw new ScoringException("SetVariants needs at least one model");
        var total = variants.Sum(v => v.Weight);
        if (variants.Any(v => v.Weight < 0) || total <= 0) throw new ScoringException("variant weights must be non-negative with a positive sum");
        foreach (var v in variants) Validate(v.Model);
        var upper = new int[variants.Length];
        TrafficSplit.Split(variants.Select(v => v.Weight).ToArray(), upper);
        var list = new Variant[variants.Length];
        for (var i = 0; i < variants.Length; i++) list[i] = new Variant(variants[i].Model, upper[i]);
        Publish(plan => new Plan(list, plan.Shadows));
    }

    /// <summary>Runs these models on every batch without writing their outputs: their scores go to
    /// <see cref="ShadowReports"/> and <see cref="ScoringOptions.ShadowRecorder"/>. An empty call removes all shadows.</summary>
    public void SetShadows(params OnnxModel[] shadows)
    {
        foreach (var s in shadows) Validate(s);
        Publish(plan => new Plan(plan.Variants, shadows.ToArray()));
    }

    /// <summary>Comparison of each shadow model (current or past) with the emitted scores.</summary>
    public IReadOnlyList<ShadowReport> ShadowReports()
    {
        lock (_shared.ShadowStats) return _shared.ShadowStats.Select(kv => kv.Value.Report(kv.Key)).ToArray();
    }

    private void Publish(Func<Plan, Plan> change)
    {
        while (true)
        {
            var current = Volatile.Read(ref _shared.Plan);
            if (Interlocked.CompareExchange(ref _shared.Plan, change(current), current) == current) break;
        }
        Interlocked.Increment(ref _shared.Swaps);
    }

    private static void RequireInputs(OnnxModel model, ScoringOptions options)
    {
        if (options.FeatureInput is null && model.TakesColumns(options.FeatureColumns)) return;
        model.FeatureInput(options.FeatureColumns.Count, options.FeatureInput);
    }

    /// <summary>True when some model now running reads the gathered row-major matrix; false when every model takes its
    /// features as separate [-1, 1] inputs bound to the batch columns themselves (no copy at all).</summary>
    public bool GathersFeatures => _variantRunners.Concat(_shadowRunners).Any(r => r.UsesMatrix);

    private void Validate(OnnxModel model)
    {
        RequireInputs(model, _options);
        var first = _outputs.Select(o => o.Output with { Name = o.Output.Name }).ToArray();
        if (!model.Outputs.SequenceEqual(first))
            throw new ScoringException(
                $"model '{model.Name}' has outputs ({string.Join(", ", model.Outputs.Select(Describe))}) but this scorer writes ({string.Join(", ", first.Select(Describe))}); deploy a model with the same outputs");
        _ = TreeProgramFor(model);

        static string Describe(ModelOutput o) => $"{o.Name} {o.ElementType}[{o.Width}]";
    }

    /// <inheritdoc/>
    public Schema Bind(Schema input)
    {
        foreach (var name in _options.FeatureColumns) input.Require(name, ColumnType.Float32);
        if (_options.RoutingKeyColumn is { } key)
        {
            var type = input[input.Require(key)].Type;
            if (type is not (ColumnType.String or ColumnType.Int32 or ColumnType.Int64))
                throw new ScoringException($"routing key column '{key}' is {ColumnTypes.Name(type)}; use a string, int32 or int64 column");
        }
        var fields = _outputs.SelectMany(o => o.Columns.Select(c => new Field(c, o.Type, Nullable: false))).ToList();
        fields.Add(new Field(_options.VariantColumn, ColumnType.String, Nullable: false));
        return input.Add([.. fields]);
    }

    /// <inheritdoc/>
    public void Process(ColumnBatch batch, StageContext context) => Score(batch);

    /// <summary>Scores the batch's rows (all of them: unselected rows cost little and keep tensor shapes stable) and
    /// writes the outputs and the variant name of each row.</summary>
    public void Score(ColumnBatch batch)
    {
        var plan = Volatile.Read(ref _shared.Plan);
        if (batch.Capacity != _capacity) Resize(batch.Capacity);
        if (!ReferenceEquals(plan, _activePlan)) Activate(plan);
        if (!ReferenceEquals(batch.Schema, _boundSchema)) BindBatch(batch.Schema);
        var rows = batch.Length;
        if (rows == 0) return;

        for (var f = 0; f < _featureIndex.Length; f++)
            _featurePointers[f] = (IntPtr)Unsafe.AsPointer(ref MemoryMarshal.GetReference(batch[_featureIndex[f]].Values<float>()));
        if (_gather) FeatureKernels.Interleave(_featurePointers, rows, new Span<float>(_matrix!.Pointer, rows * _featureIndex.Length));

        var variants = plan.Variants;
        if (variants.Length > 1) Route(batch, plan);
        var variantColumn = batch[_variantIndex];
        var dictionary = variantColumn.Dictionary!;
        var variantCodes = variantColumn.Values<int>();
        for (var v = 0; v < _variantRunners.Length; v++)
        {
            var runner = _variantRunners[v];
            runner.Run(rows, batch, _featurePointers);
            var code = dictionary.GetOrAdd(runner.Model.Name);
            if (variants.Length == 1)
            {
                CopyOutputs(runner, batch, 0, rows, -1);
                variantCodes[..rows].Fill(code);
            }
            else
            {
                CopyOutputs(runner, batch, 0, rows, v);
                for (var r = 0; r < rows; r++) if (_rowVariant[r] == v) variantCodes[r] = code;
            }
        }
        if (_shadowRunners.Length > 0) RecordShadows(batch, rows);
    }

    private void CopyOutputs(IScoringRunner runner, ColumnBatch batch, int start, int rows, int onlyVariant)
    {
        for (var o = 0; o < _outputs.Length; o++)
        {
            var (output, columns, type) = _outputs[o];
            var buffer = runner.Output(o);
            var size = ColumnTypes.SizeOf(type);
            var width = output.Width;
            for (var c = 0; c < columns.Length; c++)
            {
                var target = Bytes(batch[_outputIndex[o][c]]);
                var source = buffer.GetSpan();
                if (width == 1 && onlyVariant < 0)
                {
                    source[..(rows * size)].CopyTo(target[(start * size)..]);
                    continue;
                }
                for (var r = 0; r < rows; r++)
                {
                    if (onlyVariant >= 0 && _rowVariant[r] != onlyVariant) continue;
                    source.Slice((r * width + c) * size, size).CopyTo(target.Slice(r * size, size));
                }
            }
        }
    }

    private static Span<byte> Bytes(Column column) => column.Type switch
    {
        ColumnType.Float32 => MemoryMarshal.AsBytes(column.Values<float>()),
        ColumnType.Float64 => MemoryMarshal.AsBytes(column.Values<double>()),
        ColumnType.Int32 => MemoryMarshal.AsBytes(column.Values<int>()),
        ColumnType.Int64 => MemoryMarshal.AsBytes(column.Values<long>()),
        _ => column.Values<byte>(),
    };

    private void Route(ColumnBatch batch, Plan plan)
    {
        var key = batch[_keyIndex];
        var rows = batch.Length;
        if (key.Type == ColumnType.String)
        {
            var dictionary = key.Dictionary!;
            if (_codeVariant.Length < dictionary.Count) _codeVariant = new int[Math.Max(dictionary.Count, _codeVariant.Length * 2)];
            for (var code = 0; code < dictionary.Count; code++)
                _codeVariant[code] = plan.VariantOf(TrafficSplit.BucketOf(dictionary[code]));
            var codes = key.Values<int>();
            for (var r = 0; r < rows; r++) _rowVariant[r] = key.IsValid(r) ? _codeVariant[codes[r]] : 0;
        }
        else
        {
            for (var r = 0; r < rows; r++)
                _rowVariant[r] = key.IsValid(r) ? plan.VariantOf(TrafficSplit.BucketOf(OneHotStep.ReadInteger(key, r))) : 0;
        }
    }

    private void RecordShadows(ColumnBatch batch, int rows)
    {
        var scoreOutput = _shadowScoreOutput;
        var labelOutput = Array.FindIndex(_outputs, o => o.Type == ColumnType.Bool);
        if (scoreOutput < 0) return;
        var emitted = batch[_outputIndex[scoreOutput][0]].Values<float>()[..rows];
        var width = _outputs[scoreOutput].Output.Width;
        foreach (var shadow in _shadowRunners)
        {
            shadow.Run(rows, batch, _featurePointers);
            var scores = shadow.Output(scoreOutput).AsSpan<float>();
            var labels = labelOutput >= 0 ? shadow.Output(labelOutput).AsSpan<byte>() : default;
            var emittedLabels = labelOutput >= 0 ? batch[_outputIndex[labelOutput][0]].Values<byte>() : default;
            var labelWidth = labelOutput >= 0 ? _outputs[labelOutput].Output.Width : 1;
            double sum = 0, max = 0;
            long count = 0, agree = 0;
            for (var r = 0; r < rows; r++)
            {
                var s = scores[r * width];
                _shadowScores[r] = s;
                if (!batch.Selection.IsSelected(r)) continue;
                var d = Math.Abs((double)s - emitted[r]);
                sum += d;
                if (d > max) max = d;
                count++;
                if (labelOutput >= 0 && (labels[r * labelWidth] != 0) == (emittedLabels[r] != 0)) agree++;
            }
            lock (_shared.ShadowStats)
            {
                ref var acc = ref CollectionsMarshal.GetValueRefOrAddDefault(_shared.ShadowStats, shadow.Model.Name, out var exists);
                acc ??= new ShadowAccumulator(labelOutput >= 0);
                acc.Add(count, sum, max, agree);
            }
            if (_options.ShadowRecorder is { } recorder)
            {
                for (var r = 0; r < rows; r++) _emitted[r] = emitted[r];
                recorder.Record(shadow.Model, batch, _shadowScores.AsSpan(0, rows), _emitted.AsSpan(0, rows));
            }
        }
    }

    private void Activate(Plan plan)
    {
        // Runs on the scoring thread between two batches, so no batch is using a runner that goes away here.
        var wanted = new HashSet<OnnxModel>(plan.Variants.Select(v => v.Model).Concat(plan.Shadows), ReferenceEqualityComparer.Instance);
        foreach (var model in _runners.Keys.Where(m => !wanted.Contains(m)).ToArray())
        {
            _runners[model].Dispose();
            _runners.Remove(model);
        }
        foreach (var model in wanted)
            if (!_runners.ContainsKey(model))
                _runners[model] = CreateRunner(model);
        _variantRunners = plan.Variants.Select(v => _runners[v.Model]).ToArray();
        _shadowRunners = plan.Shadows.Select(s => _runners[s]).ToArray();
        _gather = GathersFeatures;
        _activePlan = plan;
    }

    private IScoringRunner CreateRunner(OnnxModel model)
    {
        if (TreeProgramFor(model) is { } program) return new TreeModelRunner(model, program, _capacity);
        return new ModelRunner(model, _options.FeatureInput, _options.FeatureColumns, _capacity, (float*)_matrix!.Pointer, _runOptions);
    }

    /// <summary>The model compiled for the engine's tree evaluator as this scorer feeds it, or null (ONNX Runtime runs
    /// it). Compiled once per model and feeding (cached by the model): the scorer asks when a model is given to it, so the
    /// compile happens with the model's load rather than in the first batch it scores.</summary>
    private TreeModelProgram? TreeProgramFor(OnnxModel model)
    {
        if (_options.TreeEvaluator != TreeEvaluator.Auto) return null;
        var featureInput = _options.FeatureInput is null && model.TakesColumns(_options.FeatureColumns)
            ? null
            : model.FeatureInput(_options.FeatureColumns.Count, _options.FeatureInput);
        return model.TreeProgram(featureInput, _options.FeatureColumns, out _);
    }

    /// <summary>True when <paramref name="model"/> is now scored by the engine's own tree evaluator (false: ONNX
    /// Runtime, or the model is not running here).</summary>
    internal bool UsesTreeEvaluator(OnnxModel model) => _runners.TryGetValue(model, out var runner) && runner is TreeModelRunner;

    private void Resize(int capacity)
    {
        foreach (var runner in _runners.Values) runner.Dispose();
        _runners.Clear();
        _activePlan = null;
        _matrix?.Dispose();
        _matrix = new NativeBuffer(checked(capacity * _options.FeatureColumns.Count * sizeof(float)));
        _capacity = capacity;
        _rowVariant = new int[capacity];
        _emitted = new float[capacity];
        _shadowScores = new float[capacity];
    }

    private void BindBatch(Schema schema)
    {
        _featureIndex = _options.FeatureColumns.Select(c => schema.Require(c, ColumnType.Float32)).ToArray();
        _featurePointers = new IntPtr[_featureIndex.Length];
        _outputIndex = _outputs.Select(o => o.Columns.Select(c => schema.Require(c, o.Type)).ToArray()).ToArray();
        _variantIndex = schema.Require(_options.VariantColumn, ColumnType.String);
        _keyIndex = _options.RoutingKeyColumn is { } key ? schema.Require(key) : -1;
        _boundSchema = schema;
    }

    /// <summary>"Score.output" → "score", "PredictedLabel.output" → "predicted_label".</summary>
    public static string DefaultColumnName(string outputName)
    {
        var name = outputName.EndsWith(".output", StringComparison.Ordinal) ? outputName[..^".output".Length] : outputName;
        var builder = new StringBuilder(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (char.IsUpper(c))
            {
                if (i > 0 && name[i - 1] != '_' && !char.IsUpper(name[i - 1])) builder.Append('_');
                builder.Append(char.ToLowerInvariant(c));
            }
            else builder.Append(c == '.' ? '_' : c);
        }
        return builder.ToString();
    }

    /// <summary>Frees the bindings and buffers, and those of the workers it created (not the models, which their owner
    /// disposes).</summary>
    public void Dispose()
    {
        lock (_workers)
        {
            foreach (var worker in _workers) worker.Dispose();
            _workers.Clear();
        }
        foreach (var runner in _runners.Values) runner.Dispose();
        _runners.Clear();
        _matrix?.Dispose();
        _runOptions.Dispose();
    }

    private sealed record Variant(OnnxModel Model, int UpperBucket);

    /// <summary>What a scorer shares with its workers: the plan they all pick up, the swap count, the shadow statistics
    /// (locked by the dictionary itself).</summary>
    private sealed class Shared(Plan plan)
    {
        public Plan Plan = plan;
        public long Swaps;
        public readonly Dictionary<string, ShadowAccumulator> ShadowStats = new(StringComparer.Ordinal);
    }

    private sealed class Plan(Variant[] variants, OnnxModel[] shadows)
    {
        public Variant[] Variants { get; } = variants;

        public OnnxModel[] Shadows { get; } = shadows;

        public int VariantOf(uint bucket)
        {
            for (var i = 0; i < Variants.Length; i++) if (bucket < (uint)Variants[i].UpperBucket) return i;
            return Variants.Length - 1;
        }
    }

    private sealed class ShadowAccumulator(bool hasLabel)
    {
        private long _rows;
        private double _sum;
        private double _max;
        private long _agree;

        public void Add(long rows, double sum, double max, long agree)
        {
            _rows += rows;
            _sum += sum;
            _max = Math.Max(_max, max);
            _agree += agree;
        }

        public ShadowReport Report(string model) => new(model, _rows, _rows == 0 ? 0 : _sum / _rows, _max,
            hasLabel && _rows > 0 ? (double)_agree / _rows : double.NaN);
    }
}

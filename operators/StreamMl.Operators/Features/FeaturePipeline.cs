using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using StreamMl.Engine;
using StreamMl.Operators.Features.Internal;

namespace StreamMl.Operators.Features;

/// <summary>A feature pipeline was built, fitted, saved or applied the wrong way; the message names the step or column.</summary>
public sealed class FeaturePipelineException(string message) : StreamMlException(message);

/// <summary>An ordered list of feature steps over named input columns, fitted once on a bounded stream and then applied
/// to every batch: the same object turns training rows and serving rows into the same float32 features.
/// <para>As an <see cref="IBatchOperator"/> it adds one float32 column per feature, named
/// <see cref="ColumnPrefix"/> + feature name (<see cref="OutputColumns"/>); <see cref="TransformToMatrix"/> writes the
/// same values as a row-major [rows, features] matrix. Not thread-safe: one instance per pipeline stage
/// (<see cref="Clone"/> makes another).</para></summary>
public sealed class FeaturePipeline : IBatchOperator
{
    /// <summary>Format name written into the JSON.</summary>
    public const string FormatName = "streamml.features";

    /// <summary>Version of the JSON layout this code writes and reads.</summary>
    public const int FormatVersion = 1;

    private static readonly JsonSerializerOptions s_json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private readonly List<FeatureStep> _steps;
    private readonly FeatureFrame _frame = new();
    private FeatureLayout? _layout;
    private (string Name, int Slot)[] _outputs = [];
    private int[] _outputSlotSet = [];
    private Field[] _inputs = [];
    private bool _fitted;

    // Per schema: where each output column is, cached by schema reference so steady-state batches do no lookups.
    private Schema? _boundSchema;
    private int[] _outputColumnIndex = [];
    private int[] _loadColumnIndex = [];
    private NativeBuffer? _scratch;
    private int _scratchCapacity;

    internal FeaturePipeline(IEnumerable<FeatureStep> steps, string columnPrefix, string name)
    {
        _steps = steps.ToList();
        ColumnPrefix = columnPrefix;
        Name = name;
        if (_steps.Count == 0) throw new FeaturePipelineException("a feature pipeline needs at least one step");
    }

    /// <summary>Starts describing a pipeline.</summary>
    public static FeaturePipelineBuilder Create(string name = "features") => new(name);

    /// <inheritdoc/>
    public string Name { get; }

    /// <summary>Prefix of the output column names; the default "f_" keeps them apart from the raw input columns.</summary>
    public string ColumnPrefix { get; }

    /// <summary>The steps, in order, with their configuration and (once fitted) their fitted state.</summary>
    public IReadOnlyList<FeatureStep> Steps => _steps;

    /// <summary>True once <see cref="Fit(IEnumerable{ColumnBatch})"/> ran or the pipeline was loaded from JSON.</summary>
    public bool IsFitted => _fitted;

    /// <summary>The raw input columns the pipeline reads, with the types seen when it was fitted.</summary>
    public IReadOnlyList<Field> Inputs => _inputs;

    /// <summary>Feature names in matrix order (e.g. "age", "city=Paris", "city=&lt;unknown&gt;", "pca0").</summary>
    public IReadOnlyList<string> FeatureNames { get; private set; } = [];

    /// <summary>The batch column of each feature, in matrix order (<see cref="ColumnPrefix"/> + feature name).</summary>
    public IReadOnlyList<string> OutputColumns { get; private set; } = [];

    /// <summary>Number of features: the width of the matrix.</summary>
    public int FeatureCount => _outputs.Length;

    /// <summary>Fits every step in order on the selected rows of <paramref name="batches"/> (a bounded stream; the
    /// batches may be reused by the caller after each is consumed: rows are copied). Rows are held in memory while
    /// fitting because medians and quantiles need all of them and each step is fitted on the output of the previous
    /// ones. Returns this pipeline.</summary>
    public FeaturePipeline Fit(IEnumerable<ColumnBatch> batches)
    {
        using var collector = new FitCollector();
        Schema? source = null;
        foreach (var batch in batches)
        {
            source ??= batch.Schema;
            collector.Add(batch, RawColumnNames(batch.Schema));
        }
        using var all = collector.Finish();
        FitOn(all, source!);
        return this;
    }

    /// <summary>Fits on everything <paramref name="source"/> produces until it is exhausted (opened and disposed
    /// here), reading batches of <paramref name="capacity"/> rows.</summary>
    public async Task<FeaturePipeline> FitAsync(IBatchSource source, int capacity = ColumnBatch.DefaultCapacity, CancellationToken cancellationToken = default)
    {
        using var collector = new FitCollector();
        Schema schema;
        await using (source.ConfigureAwait(false))
        {
            await source.OpenAsync(new SourceContext(Name, new CollectingDeadLetterSink()), cancellationToken).ConfigureAwait(false);
            schema = source.Schema;
            using var batch = new ColumnBatch(schema, capacity);
            var more = true;
            while (more)
            {
                batch.Reset();
                more = await source.FillAsync(batch, cancellationToken).ConfigureAwait(false);
                if (batch.Length > 0) collector.Add(batch, RawColumnNames(batch.Schema));
            }
        }
        using var all = collector.Finish();
        FitOn(all, schema);
        return this;
    }

    private List<string> RawColumnNames(Schema schema)
    {
        // Which raw columns to keep while fitting: declare inputs on a scratch layout (outputs need fitted state).
        var names = new List<string>();
        foreach (var step in _steps)
        {
            switch (step)
            {
                case ColumnStep c: names.Add(c.Column); break;
                case OneHotStep o: names.Add(o.Column); break;
                case HashStep h: names.Add(h.Column); break;
                case CategoryCodeStep k: names.Add(k.Column); break;
                case PcaStep p: names.AddRange(p.Columns); break;
                // An operand may be a feature an earlier step made (pca0, city=Paris); only raw columns are collected,
                // and one that is neither fails in FitOn with the columns there are.
                case DeriveStep d: names.AddRange(DerivedFeature.Parse(d.Name, d.Expression).Features.Where(schema.Contains)); break;
            }
        }
        return names.Distinct(StringComparer.Ordinal).ToList();
    }

    // The collected rows hold only the columns steps name; source is the stream's schema, listed when a column is missing.
    private unsafe void FitOn(ColumnBatch all, Schema source)
    {
        var layout = new FeatureLayout();
        var slots = new List<float[]>();
        _frame.Reset(all, all.Length, 0);
        var loaded = 0;
        var handles = new List<GCHandle>();
        try
        {
            foreach (var step in _steps)
            {
                step.DeclareInputs(layout);
                EnsureSlots();
                for (; loaded < layout.Loads.Count; loaded++)
                {
                    var (column, slot) = layout.Loads[loaded];
                    if (!all.Schema.Contains(column)) RequireColumn(source, column);
                    _frame.Load(RequireColumn(all.Schema, column), slot);
                }
                step.Fit(_frame);
                step.DeclareOutputs(layout);
                EnsureSlots();
                step.Apply(_frame);
            }
        }
        finally
        {
            foreach (var handle in handles) handle.Free();
        }
        _inputs = layout.RawColumns.Select(name => all.Schema[RequireColumn(all.Schema, name)]).ToArray();
        Complete(layout);

        void EnsureSlots()
        {
            while (slots.Count < layout.SlotCount)
            {
                var array = new float[Math.Max(all.Length, 1)];
                handles.Add(GCHandle.Alloc(array, GCHandleType.Pinned));
                slots.Add(array);
            }
            _frame.Reset(all, all.Length, layout.SlotCount);
            for (var i = 0; i < slots.Count; i++)
                _frame.SetSlot(i, (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(slots[i])));
        }
    }

    private void Complete(FeatureLayout layout)
    {
        _layout = layout;
        _outputs = layout.Outputs().ToArray();
        FeatureNames = _outputs.Select(o => o.Name).ToArray();
        OutputColumns = _outputs.Select(o => ColumnPrefix + o.Name).ToArray();
        _outputSlotSet = new int[layout.SlotCount];
        Array.Fill(_outputSlotSet, -1);
        for (var i = 0; i < _outputs.Length; i++) _outputSlotSet[_outputs[i].Slot] = i;
        _fitted = true;
        _boundSchema = null;
    }

    /// <summary>A fitted copy of this pipeline that then computes derived features (<c>name = a op b</c>, see
    /// <see cref="DerivedFeature"/>): derive steps have no fitted state, so no refit is needed. Operands name this
    /// pipeline's features or raw columns.</summary>
    public FeaturePipeline ThenDerive(IEnumerable<KeyValuePair<string, string>> derived)
    {
        RequireFitted();
        var copy = Clone();
        return Stateless([.. copy._steps, .. DeriveSteps(derived)], ColumnPrefix, Name, copy._inputs);
    }

    /// <summary>A pipeline of derived features alone (<c>name = a op b</c> over raw columns), ready to apply without
    /// fitting: each operand column becomes a feature too, then each derived feature.</summary>
    public static FeaturePipeline Derive(IEnumerable<KeyValuePair<string, string>> derived, string name = "derive", string columnPrefix = "f_") =>
        Stateless(DeriveSteps(derived), columnPrefix, name, []);

    private static List<FeatureStep> DeriveSteps(IEnumerable<KeyValuePair<string, string>> derived) =>
        derived.Select(d =>
        {
            DerivedFeature.Parse(d.Key, d.Value);
            return (FeatureStep)new DeriveStep { Name = d.Key, Expression = d.Value };
        }).ToList();

    private static FeaturePipeline Stateless(List<FeatureStep> steps, string columnPrefix, string name, Field[] inputs)
    {
        var pipeline = new FeaturePipeline(steps, columnPrefix, name);
        var layout = new FeatureLayout();
        foreach (var step in steps)
        {
            step.DeclareInputs(layout);
            step.DeclareOutputs(layout);
        }
        // A raw column only derive steps read has not been seen; any numeric type loads, float32 is recorded.
        pipeline._inputs = [.. inputs, .. layout.RawColumns.Where(c => inputs.All(f => f.Name != c)).Select(c => new Field(c, ColumnType.Float32))];
        pipeline.Complete(layout);
        return pipeline;
    }

    private static int RequireColumn(Schema schema, string name)
    {
        var index = schema.IndexOf(name);
        if (index < 0)
            throw new FeaturePipelineException(
                $"the feature pipeline reads column '{name}', which the batch does not have; columns are: {string.Join(", ", schema.Select(f => f.Name))}");
        return index;
    }

    /// <inheritdoc/>
    public Schema Bind(Schema input)
    {
        RequireFitted();
        foreach (var field in _inputs) RequireColumn(input, field.Name);
        foreach (var column in OutputColumns)
            if (input.Contains(column))
                throw new FeaturePipelineException(
                    $"output column '{column}' already exists in the input; choose another column prefix than '{ColumnPrefix}'");
        return input.Add(OutputColumns.Select(c => new Field(c, ColumnType.Float32, Nullable: false)).ToArray());
    }

    /// <inheritdoc/>
    public void Process(ColumnBatch batch, StageContext context) => Transform(batch);

    /// <summary>Computes every feature of the batch's rows into its output columns (all rows, selected or not: the
    /// kernels run faster over whole spans and sinks skip unselected rows anyway). The batch must have the output
    /// columns (its schema came from <see cref="Bind"/>). Allocates nothing once a schema and capacity were seen.</summary>
    public unsafe void Transform(ColumnBatch batch)
    {
        RequireFitted();
        var layout = _layout!;
        if (!ReferenceEquals(batch.Schema, _boundSchema)) BindBatchSchema(batch.Schema);
        if (_scratchCapacity < batch.Capacity) AllocateScratch(batch.Capacity);
        _frame.Reset(batch, batch.Length, layout.SlotCount);
        var scratch = (float*)_scratch!.Pointer;
        for (var slot = 0; slot < layout.SlotCount; slot++)
        {
            var output = _outputSlotSet[slot];
            var pointer = output >= 0
                ? (float*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(batch[_outputColumnIndex[output]].Values<float>()))
                : scratch + (long)slot * _scratchCapacity;
            _frame.SetSlot(slot, pointer);
        }
        for (var i = 0; i < _loadColumnIndex.Length; i++) _frame.LoadDeferred(_loadColumnIndex[i], layout.Loads[i].Slot);
        foreach (var step in _steps) step.Apply(_frame);
        foreach (var (_, slot) in _outputs) _frame.Materialize(slot);
    }

    /// <summary>Computes the features of the batch and writes them row-major into <paramref name="destination"/>
    /// ([rows, <see cref="FeatureCount"/>]). With <paramref name="selectedOnly"/> only the selected rows are written,
    /// packed. Returns the rows written. The batch needs the output columns, as for <see cref="Transform"/>.</summary>
    public int TransformToMatrix(ColumnBatch batch, Span<float> destination, bool selectedOnly = true)
    {
        Transform(batch);
        var width = FeatureCount;
        var rows = 0;
        for (var row = 0; row < batch.Length; row++)
        {
            if (selectedOnly && !batch.Selection.IsSelected(row)) continue;
            var target = destination.Slice(rows * width, width);
            for (var f = 0; f < width; f++) target[f] = batch[_outputColumnIndex[f]].Values<float>()[row];
            rows++;
        }
        return rows;
    }

    /// <summary>Computes the features of the selected rows of raw batches (which need not have the output columns),
    /// row-major into one new [rows, <see cref="FeatureCount"/>] array: the training-side call. Each batch is copied
    /// into a scratch batch that has the output columns, so this allocates; serving uses <see cref="Transform"/>.</summary>
    public float[] TransformAll(IEnumerable<ColumnBatch> batches, out int rows)
    {
        RequireFitted();
        var matrix = new List<float>();
        var buffer = Array.Empty<float>();
        ColumnBatch? scratch = null;
        rows = 0;
        try
        {
            foreach (var batch in batches)
            {
                var target = batch;
                if (!OutputColumns.All(batch.Schema.Contains))
                {
                    if (scratch is null || scratch.Capacity < batch.Length || !scratch.Schema.Equals(Bind(batch.Schema)))
                    {
                        scratch?.Dispose();
                        scratch = new ColumnBatch(Bind(batch.Schema), Math.Max(1, batch.Capacity));
                    }
                    var columns = batch.Schema.Select(f => scratch.Schema.Require(f.Name)).ToArray();
                    for (var row = 0; row < batch.Length; row++)
                        for (var c = 0; c < columns.Length; c++) scratch[columns[c]].CopyRow(batch[c], row, row);
                    scratch.Length = batch.Length;
                    for (var row = 0; row < batch.Length; row++)
                        if (!batch.Selection.IsSelected(row)) scratch.Selection.Deselect(row);
                    target = scratch;
                }
                if (buffer.Length < target.Length * FeatureCount) buffer = new float[target.Length * FeatureCount];
                var written = TransformToMatrix(target, buffer);
                matrix.AddRange(buffer.AsSpan(0, written * FeatureCount));
                rows += written;
            }
        }
        finally { scratch?.Dispose(); }
        return [.. matrix];
    }

    private void BindBatchSchema(Schema schema)
    {
        _outputColumnIndex = new int[_outputs.Length];
        for (var i = 0; i < _outputs.Length; i++)
        {
            var index = schema.IndexOf(OutputColumns[i]);
            if (index < 0 || schema[index].Type != ColumnType.Float32)
                throw new FeaturePipelineException(
                    $"the batch has no float32 column '{OutputColumns[i]}'; build its schema with FeaturePipeline.Bind(schema)");
            _outputColumnIndex[i] = index;
        }
        _loadColumnIndex = _layout!.Loads.Select(l => RequireColumn(schema, l.Column)).ToArray();
        foreach (var name in _layout.RawColumns) RequireColumn(schema, name);
        _boundSchema = schema;
    }

    private void AllocateScratch(int capacity)
    {
        _scratch?.Dispose();
        _scratch = new NativeBuffer(checked(capacity * _layout!.SlotCount * sizeof(float)));
        _scratchCapacity = capacity;
    }

    private void RequireFitted()
    {
        if (!_fitted) throw new FeaturePipelineException($"feature pipeline '{Name}' is not fitted; call Fit or load a fitted pipeline");
    }

    /// <summary>The pipeline as versioned JSON: steps with configuration and fitted state, inputs, feature names.
    /// Floats are written in their shortest round-trip form, so loading the JSON back gives bit-identical parameters.</summary>
    public string ToJson() => JsonSerializer.Serialize(new PipelineDocument
    {
        Format = FormatName,
        Version = FormatVersion,
        Name = Name,
        ColumnPrefix = ColumnPrefix,
        Fitted = _fitted,
        Inputs = _inputs.Select(f => new InputDocument { Name = f.Name, Type = ColumnTypes.Name(f.Type), Nullable = f.Nullable }).ToList(),
        Features = FeatureNames.ToList(),
        Steps = _steps,
    }, s_json);

    /// <summary>Loads a pipeline written by <see cref="ToJson"/>.</summary>
    public static FeaturePipeline FromJson(string json)
    {
        PipelineDocument? document;
        try
        {
            document = JsonSerializer.Deserialize<PipelineDocument>(json, s_json);
        }
        catch (JsonException e)
        {
            throw new FeaturePipelineException($"feature pipeline JSON is malformed at {e.Path} (line {e.LineNumber}): {e.Message}");
        }
        if (document is null || document.Format != FormatName)
            throw new FeaturePipelineException($"not a feature pipeline: expected \"format\": \"{FormatName}\"");
        if (document.Version != FormatVersion)
            throw new FeaturePipelineException($"feature pipeline format version {document.Version} is not supported; this build reads version {FormatVersion}");
        var pipeline = new FeaturePipeline(document.Steps, document.ColumnPrefix, document.Name);
        if (document.Fitted)
        {
            var layout = new FeatureLayout();
            foreach (var step in pipeline._steps)
            {
                step.DeclareInputs(layout);
                step.DeclareOutputs(layout);
            }
            pipeline._inputs = document.Inputs.Select(i => new Field(i.Name, ColumnTypes.Parse(i.Type), i.Nullable)).ToArray();
            pipeline.Complete(layout);
            if (!pipeline.FeatureNames.SequenceEqual(document.Features))
                throw new FeaturePipelineException("feature pipeline JSON lists features that its steps do not produce; the file was edited or is damaged");
        }
        return pipeline;
    }

    /// <summary>Writes <see cref="ToJson"/> to <paramref name="path"/>.</summary>
    public void Save(string path) => File.WriteAllText(path, ToJson());

    /// <summary>Reads a pipeline saved with <see cref="Save"/>.</summary>
    public static FeaturePipeline Load(string path) => FromJson(File.ReadAllText(path));

    /// <summary>An independent copy (through JSON), for a second pipeline stage or thread.</summary>
    public FeaturePipeline Clone() => FromJson(ToJson());

    private sealed class PipelineDocument
    {
        public string Format { get; set; } = "";
        public int Version { get; set; }
        public string Name { get; set; } = "features";
        public string ColumnPrefix { get; set; } = "f_";
        public bool Fitted { get; set; }
        public List<InputDocument> Inputs { get; set; } = [];
        public List<string> Features { get; set; } = [];
        public List<FeatureStep> Steps { get; set; } = [];
    }

    private sealed class InputDocument
    {
        public string Name { get; set; } = "";
        public string Type { get; set; } = "";
        public bool Nullable { get; set; } = true;
    }
}

using System.Numerics;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using StreamMl.Engine;

namespace StreamMl.Operators.Scoring.Internal;

/// <summary>One model as one scorer runs it: pinned native output buffers, zero-filled buffers for inputs the scorer
/// does not feed (ML.NET exports the label as an input), and <see cref="OrtIoBinding"/>s created once. The feature
/// matrix belongs to the scorer and is shared by every runner, so variants and shadows read the same memory.
/// <para>Only <see cref="InferenceSession.RunWithBinding"/> runs without allocating (DEPENDENCIES.md: plain Run with
/// preallocated outputs still allocates ~300 B a call), but a binding fixes the tensor shape, and building one costs
/// ~1.7 KB of managed objects. Kafka and MQTT sources deliver partial batches of any length, so a batch of n rows is
/// scored as <see cref="BucketRows"/>(n) rows (the next power of two or three quarters of one, at most the capacity):
/// a bounded set of about 2·log2(capacity) bindings, each built the first time its size is met and reused after. The
/// padding rows read whatever the matrix or the batch columns hold past the batch's length (zeros or earlier rows,
/// pinned memory inside the capacity) and their outputs are never copied out; rows are scored independently, so
/// the real rows' scores equal a run on exactly those rows (PartialBatchScoringTests checks bit equality against
/// ONNX Runtime's own Run for the linear and tree models).</para></summary>
internal sealed unsafe class ModelRunner : IScoringRunner
{
    // Column mode keeps one set of bindings (one per scored size) per batch object: pipelines reuse a fixed set of ring
    // or pool batches, so after the first round every batch finds its bindings. The bound keeps memory finite for callers that never reuse.
    private const int MaxBatchBindings = 64;

    private readonly OnnxModel _model;
    private readonly string? _featureInput;
    private readonly string[]? _columnInputs;
    private readonly Dictionary<ColumnBatch, BatchBindings> _byBatch = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<int, Binding> _bySize = [];
    private readonly int _features;
    private readonly int _capacity;
    private readonly float* _matrix;
    private readonly NativeBuffer[] _outputBuffers;
    private readonly (string Name, NativeBuffer Buffer, TensorElementType Type, int Width)[] _extraInputs;
    private readonly RunOptions _runOptions;

    public ModelRunner(OnnxModel model, string? featureInput, IReadOnlyList<string> featureColumns, int capacity, float* matrix, RunOptions runOptions)
    {
        _model = model;
        _features = featureColumns.Count;
        _capacity = capacity;
        _matrix = matrix;
        _runOptions = runOptions;
        if (featureInput is null && model.TakesColumns(featureColumns)) _columnInputs = [.. featureColumns];
        else _featureInput = model.FeatureInput(_features, featureInput);
        Outputs = model.Outputs;
        _outputBuffers = Outputs.Select(o => new NativeBuffer(checked(capacity * o.Width * SizeOf(o.ElementType, model.Name, o.Name)))).ToArray();
        _extraInputs = model.Session.InputMetadata
            .Where(kv => kv.Key != _featureInput && (_columnInputs is null || !_columnInputs.Contains(kv.Key)))
            .Select(kv =>
            {
                if (!kv.Value.IsTensor)
                    throw new ScoringException($"model '{model.Name}' input '{kv.Key}' is not a tensor; the scorer can only zero-fill tensor inputs");
                var width = Math.Max(1, kv.Value.Dimensions.Skip(1).Aggregate(1, (a, d) => a * Math.Max(d, 1)));
                return (kv.Key, new NativeBuffer(checked(capacity * width * SizeOf(kv.Value.ElementDataType, model.Name, kv.Key))), kv.Value.ElementDataType, width);
            }).ToArray();
    }

    public OnnxModel Model => _model;

    /// <summary>True when the model reads the scorer's row-major matrix; false when it reads the batch columns in place.</summary>
    public bool UsesMatrix => _columnInputs is null;

    public IReadOnlyList<ModelOutput> Outputs { get; }

    /// <summary>Output <paramref name="index"/> for the last run, row-major [rows, width].</summary>
    public NativeBuffer Output(int index) => _outputBuffers[index];

    /// <summary>Scores the first <paramref name="rows"/> rows: of the shared matrix, or of the batch's feature columns
    /// (<paramref name="columns"/>, in feature order) in column mode.</summary>
    public void Run(int rows, ColumnBatch batch, IntPtr[] columns)
    {
        var size = BucketRows(rows, _capacity);
        Dictionary<int, Binding> bindings;
        if (_columnInputs is not null)
        {
            if (!_byBatch.TryGetValue(batch, out var cached) || cached.Columns0 != columns[0])
            {
                cached?.Dispose();
                if (_byBatch.Count >= MaxBatchBindings && cached is null)
                {
                    foreach (var b in _byBatch.Values) b.Dispose();
                    _byBatch.Clear();
                }
                cached = new BatchBindings(columns[0]);
                _byBatch[batch] = cached;
            }
            bindings = cached.BySize;
        }
        else bindings = _bySize;
        if (!bindings.TryGetValue(size, out var binding))
        {
            binding = new Binding(this, size, columns);
            bindings.Add(size, binding);
        }
        try
        {
            _model.Session.RunWithBinding(_runOptions, binding.IoBinding);
        }
        catch (OnnxRuntimeException e)
        {
            throw new ScoringException($"model '{_model.Name}' failed on a batch of {rows} rows: {e.Message}", e);
        }
    }

    /// <summary>The rows a batch of <paramref name="rows"/> is scored as: <paramref name="capacity"/> when it is full
    /// (or nearly), else the smallest size of the form 2^k or 3·2^k at or above it (1, 2, 3, 4, 6, 8, 12, 16, 24 ...),
    /// which wastes at most a third of the work on padding rows. 4096-row batches thus need at most 25 bindings.</summary>
    internal static int BucketRows(int rows, int capacity)
    {
        if (rows >= capacity) return capacity;
        var power = (int)BitOperations.RoundUpToPowerOf2((uint)rows);
        var threeQuarters = power - (power >> 2);
        var size = power >= 4 && rows <= threeQuarters ? threeQuarters : power;
        return Math.Min(size, capacity);
    }

    private static int SizeOf(TensorElementType type, string model, string name) => type switch
    {
        TensorElementType.Float or TensorElementType.Int32 or TensorElementType.UInt32 => 4,
        TensorElementType.Double or TensorElementType.Int64 or TensorElementType.UInt64 => 8,
        TensorElementType.Bool or TensorElementType.Int8 or TensorElementType.UInt8 => 1,
        TensorElementType.Int16 or TensorElementType.UInt16 or TensorElementType.Float16 => 2,
        _ => throw new ScoringException($"model '{model}' tensor '{name}' has element type {type}, which the scorer does not handle"),
    };

    public void Dispose()
    {
        foreach (var b in _bySize.Values) b.Dispose();
        _bySize.Clear();
        foreach (var b in _byBatch.Values) b.Dispose();
        _byBatch.Clear();
        foreach (var b in _outputBuffers) b.Dispose();
        foreach (var e in _extraInputs) e.Buffer.Dispose();
    }

    /// <summary>The bindings of one batch object in column mode, by scored size; they point at its columns.</summary>
    private sealed class BatchBindings(IntPtr columns0) : IDisposable
    {
        public IntPtr Columns0 { get; } = columns0;

        public Dictionary<int, Binding> BySize { get; } = [];

        public void Dispose()
        {
            foreach (var b in BySize.Values) b.Dispose();
            BySize.Clear();
        }
    }

    /// <summary>OrtValues over the runner's memory for one batch length, bound once.</summary>
    private sealed class Binding : IDisposable
    {
        private readonly List<OrtValue> _values = [];

        public Binding(ModelRunner runner, int rows, IntPtr[] columns)
        {
            Rows = rows;
            IoBinding = runner._model.Session.CreateIoBinding();
            var memory = OrtMemoryInfo.DefaultInstance;
            if (runner._columnInputs is { } inputs)
            {
                // Each input points at its batch column: nothing is gathered or copied.
                for (var i = 0; i < inputs.Length; i++)
                {
                    long[] shape = runner._model.Session.InputMetadata[inputs[i]].Dimensions.Length == 1 ? [rows] : [rows, 1];
                    var value = OrtValue.CreateTensorValueWithData(memory, TensorElementType.Float, shape, columns[i], (long)rows * sizeof(float));
                    _values.Add(value);
                    IoBinding.BindInput(inputs[i], value);
                }
            }
            else
            {
                var input = OrtValue.CreateTensorValueWithData(memory, TensorElementType.Float, [rows, runner._features],
                    (IntPtr)runner._matrix, (long)rows * runner._features * sizeof(float));
                _values.Add(input);
                IoBinding.BindInput(runner._featureInput!, input);
            }
            foreach (var (name, buffer, type, width) in runner._extraInputs)
            {
                var meta = runner._model.Session.InputMetadata[name];
                long[] shape = meta.Dimensions.Length <= 1 ? [rows] : [rows, .. meta.Dimensions.Skip(1).Select(d => (long)Math.Max(d, 1))];
                var value = OrtValue.CreateTensorValueWithData(memory, type, shape, (IntPtr)buffer.Pointer,
                    (long)rows * width * SizeOf(type, runner._model.Name, name));
                _values.Add(value);
                IoBinding.BindInput(name, value);
            }
            for (var i = 0; i < runner.Outputs.Count; i++)
            {
                var output = runner.Outputs[i];
                var meta = runner._model.Session.OutputMetadata[output.Name];
                long[] shape = meta.Dimensions.Length <= 1 ? [rows] : [rows, .. meta.Dimensions.Skip(1).Select(d => (long)Math.Max(d, 1))];
                var value = OrtValue.CreateTensorValueWithData(memory, output.ElementType, shape, (IntPtr)runner._outputBuffers[i].Pointer,
                    (long)rows * output.Width * SizeOf(output.ElementType, runner._model.Name, output.Name));
                _values.Add(value);
                IoBinding.BindOutput(output.Name, value);
            }
        }

        public int Rows { get; }

        public OrtIoBinding IoBinding { get; }

        public void Dispose()
        {
            IoBinding.Dispose();
            foreach (var v in _values) v.Dispose();
        }
    }
}

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using StreamMl.Engine;

namespace StreamMl.Operators.Features.Internal;

/// <summary>The working set of one transform: a batch (for raw input columns) and one float32 vector per logical
/// feature ("slot"). Slots point either at the batch's output columns or at scratch memory, so steps write their
/// results where they will be read without a further copy.</summary>
internal sealed unsafe class FeatureFrame
{
    private float*[] _slots = [];
    // Per slot: the raw float32 column its values still live in (a deferred load), or null once the slot holds them.
    private float*[] _pending = [];

    /// <summary>The batch whose raw columns the steps read.</summary>
    public ColumnBatch Batch { get; private set; } = null!;

    /// <summary>Rows to compute.</summary>
    public int Length { get; private set; }

    /// <summary>Points the frame at a batch and at the slot memory for it.</summary>
    public void Reset(ColumnBatch batch, int length, int slotCount)
    {
        Batch = batch;
        Length = length;
        if (_slots.Length < slotCount)
        {
            _slots = new float*[slotCount];
            _pending = new float*[slotCount];
        }
        Array.Clear(_pending);
    }

    /// <summary>Sets where slot <paramref name="slot"/> lives.</summary>
    public void SetSlot(int slot, float* pointer) => _slots[slot] = pointer;

    /// <summary>The slot's own memory for the frame's rows. Only valid for reading when nothing is pending: steps
    /// use <see cref="Read"/> and <see cref="Write"/>.</summary>
    public Span<float> Slot(int slot) => new(_slots[slot], Length);

    /// <summary>The current values of slot <paramref name="slot"/>: the raw column while its load is deferred.</summary>
    public ReadOnlySpan<float> Read(int slot) => _pending[slot] != null ? new(_pending[slot], Length) : Slot(slot);

    /// <summary>The slot's memory, to write its new values (call <see cref="Read"/> first when they depend on the old ones).</summary>
    public Span<float> Write(int slot)
    {
        _pending[slot] = null;
        return Slot(slot);
    }

    /// <summary>Loads like <see cref="Load"/>, except that a float32 column without nulls is not copied: the first step
    /// reads it from the raw column and writes the slot, saving a pass over memory (FeatureBenchmarks: standard
    /// scaling went from copy + in-place scale to one out-of-place pass).</summary>
    public void LoadDeferred(int column, int slot)
    {
        var source = Batch[column];
        if (source.Type == ColumnType.Float32 && !source.MayHaveNulls)
            _pending[slot] = (float*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(source.Values<float>()));
        else Load(column, slot);
    }

    /// <summary>Copies a slot whose load is still deferred into its own memory (outputs at the end of a transform).</summary>
    public void Materialize(int slot)
    {
        if (_pending[slot] == null) return;
        new ReadOnlySpan<float>(_pending[slot], Length).CopyTo(Slot(slot));
        _pending[slot] = null;
    }

    /// <summary>Loads raw column <paramref name="column"/> of the batch into slot <paramref name="slot"/> as float32,
    /// nulls as NaN.</summary>
    public void Load(int column, int slot)
    {
        var source = Batch[column];
        var destination = Write(slot);
        switch (source.Type)
        {
            case ColumnType.Float32:
                source.Values<float>()[..Length].CopyTo(destination);
                break;
            case ColumnType.Float64:
                FeatureKernels.Convert(source.Values<double>()[..Length], destination);
                break;
            case ColumnType.Int32:
                FeatureKernels.Convert(source.Values<int>()[..Length], destination);
                break;
            case ColumnType.Int64:
            case ColumnType.Timestamp:
                FeatureKernels.Convert(source.Values<long>()[..Length], destination);
                break;
            case ColumnType.Bool:
                FeatureKernels.Convert(source.Values<byte>()[..Length], destination);
                break;
            default:
                throw new FeaturePipelineException(
                    $"column '{source.Field.Name}' is {ColumnTypes.Name(source.Type)}; a numeric feature needs a numeric or bool column (encode strings with OneHot or Hash)");
        }
        if (source.MayHaveNulls) FeatureKernels.ApplyNulls(source.ValidityBitmap, destination);
    }
}

/// <summary>Names and slots of the logical features while steps are declared: features are created by loading a raw
/// column the first time a step names it, or by steps that expand (one-hot, hashing, PCA), and removed from the output
/// when a step consumes them.</summary>
internal sealed class FeatureLayout
{
    private readonly Dictionary<string, int> _slotByName = new(StringComparer.Ordinal);
    private readonly List<string> _names = [];
    private readonly List<bool> _consumed = [];

    /// <summary>Raw loads to run before the steps: (raw column name, slot).</summary>
    public List<(string Column, int Slot)> Loads { get; } = [];

    /// <summary>Raw columns read by categorical steps.</summary>
    public List<string> RawColumns { get; } = [];

    /// <summary>Number of slots.</summary>
    public int SlotCount => _names.Count;

    /// <summary>Slot of feature <paramref name="name"/>, loading it from the raw column of that name when new.</summary>
    public int Use(string name)
    {
        if (_slotByName.TryGetValue(name, out var slot))
        {
            if (_consumed[slot])
                throw new FeaturePipelineException($"feature '{name}' was consumed by an earlier step (PCA); steps after it cannot use it");
            return slot;
        }
        slot = Add(name);
        Loads.Add((name, slot));
        if (!RawColumns.Contains(name)) RawColumns.Add(name);
        return slot;
    }

    /// <summary>Records that a step reads raw column <paramref name="name"/> directly (categorical steps).</summary>
    public void UseRaw(string name)
    {
        if (!RawColumns.Contains(name)) RawColumns.Add(name);
    }

    /// <summary>Creates feature <paramref name="name"/>; names are unique.</summary>
    public int Add(string name)
    {
        if (_slotByName.ContainsKey(name))
            throw new FeaturePipelineException($"feature '{name}' is produced twice; rename the step's output");
        var slot = _names.Count;
        _slotByName.Add(name, slot);
        _names.Add(name);
        _consumed.Add(false);
        return slot;
    }

    /// <summary>Drops the feature in <paramref name="slot"/> from the output (it stays in scratch memory).</summary>
    public void Consume(int slot) => _consumed[slot] = true;

    /// <summary>The output features in creation order, with their slots.</summary>
    public IEnumerable<(string Name, int Slot)> Outputs()
    {
        for (var i = 0; i < _names.Count; i++)
            if (!_consumed[i]) yield return (_names[i], i);
    }
}

using StreamMl.Operators.Anomaly.Internal;

namespace StreamMl.Operators.Anomaly;

/// <summary>One anomaly detector per key (device, series, model variant), all of the same kind and settings. Keys are
/// int64 values or strings (a string column's dictionary entries); each key gets a dense slot on first sight and its
/// state lives in flat arrays indexed by that slot, so 10,000+ keys cost a few arrays, not 10,000 objects. Resolve
/// the slot once per key (<see cref="SlotOf(long)"/>, <see cref="SlotOf(string)"/>) and update by slot in the row
/// loop: <see cref="Update(int, double, long)"/> allocates nothing. Not thread-safe.</summary>
public sealed class KeyedDetectors
{
    private readonly DetectorBank _bank;
    private readonly Dictionary<long, int> _longSlots = [];
    private readonly Dictionary<string, int> _stringSlots = new(StringComparer.Ordinal);
    private readonly List<object> _keys = [];

    /// <summary>Creates a bank of detectors built from <paramref name="settings"/>.</summary>
    /// <param name="settings">The detector and its parameters (see <see cref="AnomalyDetectors"/>).</param>
    /// <param name="expectedKeys">Keys to make room for up front; the bank grows beyond it as needed.</param>
    public KeyedDetectors(AnomalyDetectorSettings settings, int expectedKeys = 16)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentOutOfRangeException.ThrowIfNegative(expectedKeys);
        Settings = settings;
        _bank = AnomalyDetectors.CreateBank(settings);
        _bank.EnsureCapacity(Math.Max(1, expectedKeys));
    }

    /// <summary>The settings every key's detector was built from.</summary>
    public AnomalyDetectorSettings Settings { get; }

    /// <summary>The detector's name.</summary>
    public string Name => Settings.Detector;

    /// <summary>The threshold each score is compared with.</summary>
    public double Threshold => _bank.Threshold;

    /// <summary>Keys seen so far.</summary>
    public int KeyCount => _keys.Count;

    /// <summary>The key in <paramref name="slot"/>: a <see cref="long"/> or a <see cref="string"/>.</summary>
    public object KeyAt(int slot) => _keys[slot];

    /// <summary>The slot of an int64 key, adding the key on first sight.</summary>
    public int SlotOf(long key)
    {
        if (_longSlots.TryGetValue(key, out var slot)) return slot;
        slot = Add(key);
        _longSlots.Add(key, slot);
        return slot;
    }

    /// <summary>The slot of a string key, adding the key on first sight.</summary>
    public int SlotOf(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (_stringSlots.TryGetValue(key, out var slot)) return slot;
        slot = Add(key);
        _stringSlots.Add(key, slot);
        return slot;
    }

    /// <summary>Feeds one value to the key in <paramref name="slot"/> (from <see cref="SlotOf(long)"/> or
    /// <see cref="SlotOf(string)"/>). Allocates nothing.</summary>
    public AnomalyScore Update(int slot, double value, long eventTime)
    {
        if ((uint)slot >= (uint)_keys.Count) ThrowUnknownSlot(slot);
        return _bank.Update(slot, value, eventTime);
    }

    /// <summary>Feeds one value to an int64 key.</summary>
    public AnomalyScore Update(long key, double value, long eventTime) => _bank.Update(SlotOf(key), value, eventTime);

    /// <summary>Feeds one value to a string key.</summary>
    public AnomalyScore Update(string key, double value, long eventTime) => _bank.Update(SlotOf(key), value, eventTime);

    /// <summary>Values each update takes (Half-Space Trees: its <c>dimensions</c>; the others 1).</summary>
    public int Dimensions => _bank.Dimensions;

    /// <summary>Feeds one event's values to the key in <paramref name="slot"/> (multivariate detectors).</summary>
    public AnomalyScore Update(int slot, ReadOnlySpan<double> values, long eventTime)
    {
        if ((uint)slot >= (uint)_keys.Count) ThrowUnknownSlot(slot);
        return _bank.Update(slot, values, eventTime);
    }

    /// <summary>Feeds a run of values, one per row, to the keys in <paramref name="slots"/>; writes each row's verdict to
    /// <paramref name="scores"/>. Allocates nothing.</summary>
    public void Update(ReadOnlySpan<int> slots, ReadOnlySpan<double> values, ReadOnlySpan<long> eventTimes, Span<AnomalyScore> scores)
    {
        if (values.Length != slots.Length || eventTimes.Length != slots.Length || scores.Length < slots.Length)
            throw new ArgumentException("slots, values, event times and scores must have the same length");
        var keys = (uint)_keys.Count;
        foreach (var slot in slots)
            if ((uint)slot >= keys) ThrowUnknownSlot(slot);
        _bank.Update(slots, values, eventTimes, scores);
    }

    /// <summary>Forgets what the key in <paramref name="slot"/> learnt (it stays known).</summary>
    public void Reset(int slot)
    {
        if ((uint)slot >= (uint)_keys.Count) ThrowUnknownSlot(slot);
        _bank.Reset(slot);
    }

    private int Add(object key)
    {
        var slot = _keys.Count;
        if (slot >= _bank.Capacity) _bank.EnsureCapacity(slot + 1);
        _keys.Add(key);
        return slot;
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn, System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void ThrowUnknownSlot(int slot) =>
        throw new ArgumentOutOfRangeException(nameof(slot), $"slot {slot} is not a key's slot; this bank has {_keys.Count} keys (get slots from SlotOf)");
}

namespace StreamMl.Operators.Anomaly.Internal;

/// <summary>The state of one detector kind for many keys, held in flat arrays indexed by a dense key slot (0, 1, 2, …),
/// so 10,000 keys cost a few arrays rather than 10,000 objects. A single-key detector is a bank with one slot.</summary>
internal abstract class DetectorBank
{
    /// <summary>Slots the arrays hold.</summary>
    public abstract int Capacity { get; }

    /// <summary>The threshold reported with every score.</summary>
    public abstract double Threshold { get; }

    /// <summary>Grows the arrays to hold at least <paramref name="slots"/> keys; new slots start empty.</summary>
    public abstract void EnsureCapacity(int slots);

    /// <summary>Feeds one value to the key in <paramref name="slot"/>.</summary>
    public abstract AnomalyScore Update(int slot, double value, long eventTime);

    /// <summary>Feeds a run of rows; each bank overrides this with the same loop over its own sealed
    /// <see cref="Update(int, double, long)"/>, so the per-value call is direct and inlinable, not virtual.</summary>
    public abstract void Update(ReadOnlySpan<int> slots, ReadOnlySpan<double> values, ReadOnlySpan<long> eventTimes, Span<AnomalyScore> scores);

    /// <summary>Values each update takes: 1 for the scalar detectors.</summary>
    public virtual int Dimensions => 1;

    /// <summary>Feeds one event's values to the key in <paramref name="slot"/>; scalar banks take exactly one value.</summary>
    public virtual AnomalyScore Update(int slot, ReadOnlySpan<double> values, long eventTime)
    {
        if (values.Length != 1)
            throw new AnomalyDetectorException($"this anomaly detector takes one value per row, not {values.Length}");
        return Update(slot, values[0], eventTime);
    }

    /// <summary>Forgets what the key in <paramref name="slot"/> learnt.</summary>
    public abstract void Reset(int slot);

    /// <summary>A capacity at least <paramref name="slots"/>, doubling so growth is amortised.</summary>
    protected static int Grown(int current, int slots) => Math.Max(slots, Math.Max(4, current * 2));

    /// <summary>Copies <paramref name="array"/> into a larger one of <paramref name="length"/> elements.</summary>
    protected static T[] Resize<T>(T[] array, int length)
    {
        var grown = new T[length];
        array.AsSpan().CopyTo(grown);
        return grown;
    }
}

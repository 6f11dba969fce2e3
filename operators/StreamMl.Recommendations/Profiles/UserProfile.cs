using System.Runtime.CompilerServices;

namespace StreamMl.Recommendations.Profiles;

/// <summary>A user's live profile: up to a fixed number of distinct items with a decayed weight, a count and the latest
/// event time each. The entries form a ring in order of first appearance, so the oldest item is evicted first and the
/// most recent ones are the last entries.</summary>
internal sealed class UserProfile
{
    private int[] _items;
    private float[] _weights;
    private long[] _times;
    private int[] _counts;

    public UserProfile(long id, int initialCapacity = 8)
    {
        Id = id;
        _items = new int[initialCapacity];
        _weights = new float[initialCapacity];
        _times = new long[initialCapacity];
        _counts = new int[initialCapacity];
    }

    public long Id { get; }

    /// <summary>Distinct items held.</summary>
    public int Count { get; private set; }

    /// <summary>Physical index of the oldest entry (non-zero only once the ring is full).</summary>
    public int Head { get; private set; }

    /// <summary>The newest event time applied.</summary>
    public long LastTime { get; private set; } = long.MinValue;

    /// <summary>Events applied, including repeats.</summary>
    public long Events { get; private set; }

    /// <summary>Items in physical order (use <see cref="PhysicalIndex"/> for order of appearance).</summary>
    public ReadOnlySpan<int> Items => _items.AsSpan(0, Count);

    public ReadOnlySpan<float> Weights => _weights.AsSpan(0, Count);

    public ReadOnlySpan<long> Times => _times.AsSpan(0, Count);

    public ReadOnlySpan<int> Counts => _counts.AsSpan(0, Count);

    /// <summary>Physical index of the <paramref name="age"/>-th entry, 0 being the oldest.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int PhysicalIndex(int age)
    {
        var index = Head + age;
        return index >= Count ? index - Count : index;
    }

    /// <summary>Applies one event. <paramref name="halfLifeMicros"/> of 0 means no decay.</summary>
    public ProfileChange Record(int item, long time, float weight, double halfLifeMicros, int capacity)
    {
        var index = _items.AsSpan(0, Count).IndexOf(item);
        if (index >= 0)
        {
            var seenAt = _times[index];
            if (seenAt == time) return ProfileChange.Duplicate;
            if (time > seenAt)
            {
                _weights[index] = _weights[index] * Decay(time - seenAt, halfLifeMicros) + weight;
                _times[index] = time;
            }
            else
            {
                _weights[index] += weight * Decay(seenAt - time, halfLifeMicros);
            }
            _counts[index]++;
            Touch(time);
            return ProfileChange.Repeat;
        }

        int slot;
        if (Count < capacity)
        {
            if (Count == _items.Length) Grow(Math.Min(capacity, _items.Length * 2));
            slot = Count++;
        }
        else
        {
            slot = Head;
            Head = Head + 1 == Count ? 0 : Head + 1;
        }
        _items[slot] = item;
        _weights[slot] = weight;
        _times[slot] = time;
        _counts[slot] = 1;
        Touch(time);
        return ProfileChange.NewItem;
    }

    /// <summary>The weight of the entry at <paramref name="index"/> decayed to <see cref="LastTime"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float DecayedWeight(int index, double halfLifeMicros) =>
        _weights[index] * Decay(LastTime - _times[index], halfLifeMicros);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Decay(long elapsedMicros, double halfLifeMicros) =>
        halfLifeMicros == 0 ? 1f : (float)double.Exp2(-elapsedMicros / halfLifeMicros);

    private void Touch(long time)
    {
        if (time > LastTime) LastTime = time;
        Events++;
    }

    private void Grow(int size)
    {
        Array.Resize(ref _items, size);
        Array.Resize(ref _weights, size);
        Array.Resize(ref _times, size);
        Array.Resize(ref _counts, size);
    }

    public void Write(BinaryWriter writer)
    {
        writer.Write(Id);
        writer.Write(LastTime);
        writer.Write(Events);
        writer.Write(Count);
        writer.Write(Head);
        for (var i = 0; i < Count; i++)
        {
            writer.Write(_items[i]);
            writer.Write(_weights[i]);
            writer.Write(_times[i]);
            writer.Write(_counts[i]);
        }
    }

    public static UserProfile Read(BinaryReader reader, int capacity, int items)
    {
        var profile = new UserProfile(reader.ReadInt64());
        profile.LastTime = reader.ReadInt64();
        profile.Events = reader.ReadInt64();
        var count = reader.ReadInt32();
        var head = reader.ReadInt32();
        if (count > capacity || (uint)head >= (uint)Math.Max(count, 1))
            throw new InvalidDataException($"user {profile.Id} holds {count} items, more than ProfileCapacity ({capacity})");
        profile.Grow(Math.Max(count, 8));
        profile.Count = count;
        profile.Head = head;
        for (var i = 0; i < count; i++)
        {
            profile._items[i] = reader.ReadInt32();
            if ((uint)profile._items[i] >= (uint)items) throw new InvalidDataException($"user {profile.Id} refers to item index {profile._items[i]} outside the catalogue");
            profile._weights[i] = reader.ReadSingle();
            profile._times[i] = reader.ReadInt64();
            profile._counts[i] = reader.ReadInt32();
        }
        return profile;
    }
}

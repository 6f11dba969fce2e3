namespace StreamMl.Recommendations.Serving;

/// <summary>Joins the recommendations served to the interactions that follow them. Each user has at most one open
/// impression, the latest list served to them; it stays open for the horizon (processing time). An interaction of the
/// user with an item of the list marks the impression clicked (once); the first interaction after the impression
/// resolves it as a hit or a miss. Thread-safe: serving threads open impressions while the pipeline reports
/// interactions.</summary>
internal sealed class FeedbackJoin(int variants, TimeSpan horizon, TimeProvider time)
{
    private readonly object _gate = new();
    private readonly Dictionary<long, Impression> _open = [];
    private readonly Counts[] _counts = Enumerable.Range(0, variants).Select(_ => new Counts()).ToArray();
    private long _lastSweep = time.GetTimestamp();

    /// <summary>Records that <paramref name="items"/> were served to <paramref name="user"/> by <paramref name="variant"/>.</summary>
    public void Served(long user, int variant, ReadOnlySpan<ScoredItem> items)
    {
        var now = time.GetTimestamp();
        lock (_gate)
        {
            var counts = _counts[variant];
            counts.Impressions++;
            counts.Users.Add(user);
            foreach (var item in items) counts.Distinct.Add(item.Item);
            if (!_open.TryGetValue(user, out var impression))
            {
                impression = new Impression();
                _open[user] = impression;
            }
            impression.Open(variant, items, now);
            SweepIfDue(now);
        }
    }

    /// <summary>Reports an interaction of <paramref name="user"/> with <paramref name="item"/>.</summary>
    public void Interacted(long user, long item)
    {
        var now = time.GetTimestamp();
        lock (_gate) Join(user, item, now);
    }

    /// <summary>Reports a batch of interactions in row order, taking the lock once per chunk of
    /// <see cref="ChunkPerLock"/> events rather than per event, so the pipeline thread and the serving threads trade the
    /// lock far less often; serving threads still get in between chunks.</summary>
    public void Interacted(ReadOnlySpan<long> users, ReadOnlySpan<long> items)
    {
        for (var start = 0; start < users.Length; start += ChunkPerLock)
        {
            var end = Math.Min(users.Length, start + ChunkPerLock);
            var now = time.GetTimestamp();
            lock (_gate)
                for (var i = start; i < end; i++) Join(users[i], items[i], now);
        }
    }

    // FeedbackJoinBenchmarks: 524 -> 152 ns per event at load average 70 (ratio 0.30); 64 events hold the lock for
    // about 10 µs, well under a Recommend's own time.
    private const int ChunkPerLock = 64;

    private void Join(long user, long item, long now)
    {
        if (!_open.TryGetValue(user, out var impression) || !impression.IsOpen) return;
        if (time.GetElapsedTime(impression.ServedAt, now) > horizon)
        {
            impression.IsOpen = false;
            return;
        }
        var counts = _counts[impression.Variant];
        var served = impression.Contains(item);
        if (!impression.Resolved)
        {
            impression.Resolved = true;
            counts.Resolved++;
            if (served) counts.Hits++;
        }
        if (served && !impression.Clicked)
        {
            impression.Clicked = true;
            counts.Clicked++;
        }
    }

    /// <summary>Impressions, clicked, resolved, hits, distinct items and distinct users of <paramref name="variant"/>.</summary>
    public (long Impressions, long Clicked, long Resolved, long Hits, long Distinct, long Users) Read(int variant)
    {
        lock (_gate)
        {
            var c = _counts[variant];
            return (c.Impressions, c.Clicked, c.Resolved, c.Hits, c.Distinct.Count, c.Users.Count);
        }
    }

    /// <summary>Writes every variant's counts and the open impressions, each with its age, so a restored join resolves
    /// them as this one would have.</summary>
    public void Snapshot(BinaryWriter writer)
    {
        var now = time.GetTimestamp();
        lock (_gate)
        {
            writer.Write(_counts.Length);
            foreach (var c in _counts)
            {
                writer.Write(c.Impressions);
                writer.Write(c.Clicked);
                writer.Write(c.Resolved);
                writer.Write(c.Hits);
                WriteSet(writer, c.Distinct);
                WriteSet(writer, c.Users);
            }
            writer.Write(_open.Count);
            foreach (var (user, impression) in _open)
            {
                writer.Write(user);
                impression.Write(writer, time.GetElapsedTime(impression.ServedAt, now));
            }
        }
    }

    /// <summary>Replaces the counts and open impressions with those written by <see cref="Snapshot"/>.</summary>
    public void Restore(BinaryReader reader)
    {
        var now = time.GetTimestamp();
        lock (_gate)
        {
            var variants = reader.ReadInt32();
            if (variants != _counts.Length) throw new InvalidDataException($"its feedback counts {variants} variant(s) and this server has {_counts.Length}");
            foreach (var c in _counts)
            {
                c.Impressions = reader.ReadInt64();
                c.Clicked = reader.ReadInt64();
                c.Resolved = reader.ReadInt64();
                c.Hits = reader.ReadInt64();
                ReadSet(reader, c.Distinct);
                ReadSet(reader, c.Users);
            }
            _open.Clear();
            var open = reader.ReadInt32();
            for (var i = 0; i < open; i++)
            {
                var user = reader.ReadInt64();
                var impression = Impression.Read(reader, now, time, variants);
                _open[user] = impression;
            }
        }
    }

    private static void WriteSet(BinaryWriter writer, HashSet<long> set)
    {
        writer.Write(set.Count);
        foreach (var value in set) writer.Write(value);
    }

    private static void ReadSet(BinaryReader reader, HashSet<long> set)
    {
        set.Clear();
        var count = reader.ReadInt32();
        if (count < 0) throw new InvalidDataException($"a feedback set has {count} entries");
        for (var i = 0; i < count; i++) set.Add(reader.ReadInt64());
    }

    /// <summary>Forgets impressions older than the horizon at most once per horizon, so users who never come back do not
    /// keep memory.</summary>
    private void SweepIfDue(long now)
    {
        if (time.GetElapsedTime(_lastSweep, now) < horizon) return;
        _lastSweep = now;
        foreach (var (user, impression) in _open)
            if (time.GetElapsedTime(impression.ServedAt, now) > horizon) _open.Remove(user);
    }

    private sealed class Counts
    {
        public long Impressions, Clicked, Resolved, Hits;
        public readonly HashSet<long> Distinct = [];
        public readonly HashSet<long> Users = [];
    }

    private sealed class Impression
    {
        private long[] _items = [];
        private int _count;

        public int Variant;
        public long ServedAt;
        public bool IsOpen, Clicked, Resolved;

        public void Open(int variant, ReadOnlySpan<ScoredItem> items, long now)
        {
            if (_items.Length < items.Length) _items = new long[Math.Max(items.Length, 16)];
            for (var i = 0; i < items.Length; i++) _items[i] = items[i].Item;
            _count = items.Length;
            Variant = variant;
            ServedAt = now;
            IsOpen = true;
            Clicked = Resolved = false;
        }

        public bool Contains(long item) => Array.IndexOf(_items, item, 0, _count) >= 0;

        public void Write(BinaryWriter writer, TimeSpan age)
        {
            writer.Write(Variant);
            writer.Write(age.Ticks);
            writer.Write(IsOpen);
            writer.Write(Clicked);
            writer.Write(Resolved);
            writer.Write(_count);
            for (var i = 0; i < _count; i++) writer.Write(_items[i]);
        }

        public static Impression Read(BinaryReader reader, long now, TimeProvider time, int variants)
        {
            var impression = new Impression { Variant = reader.ReadInt32() };
            if ((uint)impression.Variant >= (uint)variants) throw new InvalidDataException($"an open impression names variant {impression.Variant}");
            var age = TimeSpan.FromTicks(reader.ReadInt64());
            impression.ServedAt = now - (long)(age.TotalSeconds * time.TimestampFrequency);
            impression.IsOpen = reader.ReadBoolean();
            impression.Clicked = reader.ReadBoolean();
            impression.Resolved = reader.ReadBoolean();
            var count = reader.ReadInt32();
            if (count < 0) throw new InvalidDataException($"an open impression lists {count} items");
            impression._items = new long[Math.Max(count, 16)];
            impression._count = count;
            for (var i = 0; i < count; i++) impression._items[i] = reader.ReadInt64();
            return impression;
        }
    }
}

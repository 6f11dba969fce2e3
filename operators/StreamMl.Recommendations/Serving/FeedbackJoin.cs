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
        lock (_gate)
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
    }

    /// <summary>Impressions, clicked, resolved, hits and distinct items of <paramref name="variant"/>.</summary>
    public (long Impressions, long Clicked, long Resolved, long Hits, long Distinct) Read(int variant)
    {
        lock (_gate)
        {
            var c = _counts[variant];
            return (c.Impressions, c.Clicked, c.Resolved, c.Hits, c.Distinct.Count);
        }
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
    }
}

using StreamMl.Recommendations.Models;
using StreamMl.Recommendations.Profiles;

namespace StreamMl.Recommendations;

/// <summary>Item-to-item cosine kNN, updated per event: when a user meets a new item, its co-occurrence count with each
/// of the user's <see cref="ItemKnnOptions.CoOccurrenceWindow"/> most recent items grows by one (both ways), and the
/// item's user count grows by one. A user's score for item c is Σ over profile items j of
/// decayed weight(j) · C(j,c) / √(n(j)·n(c)) over j's at most <see cref="ItemKnnOptions.MaxNeighbours"/> neighbours.</summary>
public sealed class ItemKnnRecommender : Recommender
{
    private readonly ItemKnnOptions _options;
    private NeighbourRow[] _rows = new NeighbourRow[64];
    private int _rowCount;
    private float[] _userCounts = new float[64];
    private float[] _inverseSqrtUserCounts = new float[64];

    /// <summary>Creates the recommender; null options take the defaults.</summary>
    public ItemKnnRecommender(ItemKnnOptions? options = null) : base(options ?? new ItemKnnOptions())
    {
        _options = options ?? new ItemKnnOptions();
        _options.Validate();
    }

    /// <inheritdoc/>
    public override string Name => "itemknn";

    private protected override void OnApplied(UserProfile profile, int item, ProfileChange change)
    {
        // Implicit feedback is binary per user: a repeat adds no co-occurrence.
        if (change != ProfileChange.NewItem) return;
        EnsureItem(item);
        _userCounts[item] += 1f;
        _inverseSqrtUserCounts[item] = 1f / MathF.Sqrt(_userCounts[item]);
        var rows = _rows;
        var capacity = _options.MaxNeighbours;
        var others = Math.Min(_options.CoOccurrenceWindow, profile.Count - 1);
        var items = profile.Items;
        // The new item is the newest entry (age Count-1); its co-occurring items are the ones just before it. Their rows
        // are scattered over memory: ask for all of them first so the cache misses overlap.
        var newest = profile.Count - 1;
        for (var age = newest - 1; age >= newest - others; age--) rows[items[profile.PhysicalIndex(age)]].Prefetch();
        ref var row = ref rows[item];
        for (var age = newest - 1; age >= newest - others; age--)
        {
            var other = items[profile.PhysicalIndex(age)];
            row.Add(other, 1f, capacity);
            rows[other].Add(item, 1f, capacity);
        }
    }

    private void EnsureItem(int item)
    {
        if (item >= _rowCount) _rowCount = item + 1;
        if (item >= _userCounts.Length)
        {
            var size = Math.Max(item + 1, _userCounts.Length * 2);
            Array.Resize(ref _rows, size);
            Array.Resize(ref _userCounts, size);
            Array.Resize(ref _inverseSqrtUserCounts, size);
        }
    }

    private protected override bool Score(UserProfile profile, Span<float> scores)
    {
        scores.Clear();
        var items = profile.Items;
        var inverseSqrt = _inverseSqrtUserCounts;
        for (var entry = 0; entry < items.Length; entry++)
        {
            var item = items[entry];
            if (item >= _rowCount) continue;
            var decayed = profile.DecayedWeight(entry, ProfileHalfLifeMicros);
            if (decayed < NegligibleWeight) continue;
            var weight = decayed * inverseSqrt[item];
            ref readonly var row = ref _rows[item];
            var neighbours = row.Items;
            var counts = row.Counts;
            for (var n = 0; n < neighbours.Length; n++)
            {
                var neighbour = neighbours[n];
                scores[neighbour] += weight * counts[n] * inverseSqrt[neighbour];
            }
        }
        return true;
    }

    /// <summary>The cosine similarity the model holds between two items (0 when they never co-occurred or one is unknown).</summary>
    public float Similarity(long itemA, long itemB)
    {
        Gate.EnterReadLock();
        try
        {
            var a = Catalog.IndexOf(itemA);
            var b = Catalog.IndexOf(itemB);
            if (a < 0 || b < 0 || a >= _rowCount || b >= _rowCount) return 0f;
            return _rows[a].CountOf(b) * _inverseSqrtUserCounts[a] * _inverseSqrtUserCounts[b];
        }
        finally
        {
            Gate.ExitReadLock();
        }
    }

    private protected override void WriteModel(BinaryWriter writer)
    {
        writer.Write(_rowCount);
        for (var i = 0; i < _rowCount; i++)
        {
            writer.Write(_userCounts[i]);
            _rows[i].Write(writer);
        }
    }

    private protected override void ReadModel(BinaryReader reader)
    {
        var count = reader.ReadInt32();
        _rowCount = count;
        _rows = new NeighbourRow[Math.Max(count, 64)];
        _userCounts = new float[_rows.Length];
        _inverseSqrtUserCounts = new float[_userCounts.Length];
        for (var i = 0; i < count; i++)
        {
            _userCounts[i] = reader.ReadSingle();
            _inverseSqrtUserCounts[i] = _userCounts[i] > 0 ? 1f / MathF.Sqrt(_userCounts[i]) : 0f;
            _rows[i] = NeighbourRow.Read(reader, _options.MaxNeighbours);
        }
    }
}

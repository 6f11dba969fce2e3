using StreamMl.Engine;
using StreamMl.Recommendations.Internal;
using StreamMl.Recommendations.Models;
using StreamMl.Recommendations.Profiles;

namespace StreamMl.Recommendations;

/// <summary>The state every model shares — item catalogue, live user profiles, time-decayed popularity — and the
/// ranking with filters. A reader-writer lock guards it: queries take it to read, side by side on any number of threads
/// (each with its own scratch buffers), so a slow or descheduled query holds up no other; updates take it to write for at
/// most <see cref="UpdateChunk"/> events at a time and let queued queries in between chunks, so a query waits behind one
/// such chunk at most (tens of microseconds); model refits run outside it.</summary>
public abstract class Recommender : IRecommender
{
    /// <summary>Events applied per lock hold in <see cref="Update(InteractionBatch)"/>.</summary>
    public const int UpdateChunk = 32;

    /// <summary>Profile entries whose decayed weight is below this (ten half-lives older than the user's latest event
    /// for a weight-1 event) are left out of scoring: their contribution is under 0.1 % each, and skipping them makes a
    /// 200-item profile with a 3-minute half-life cost what the current session costs.</summary>
    private protected const float NegligibleWeight = 1e-3f;

    /// <summary>Score of an item that must not be recommended (seen, filtered).</summary>
    private protected const float Excluded = float.NegativeInfinity;

    private readonly RecommenderOptions _options;
    private long _events, _applied, _duplicates, _late, _rejectedItems;

    private protected Recommender(RecommenderOptions options)
    {
        options.Validate();
        _options = options;
        ProfileHalfLifeMicros = Micros(options.ProfileHalfLife);
        Catalog = new ItemCatalog(options.MaxItems);
        Users = new UserProfiles();
        Popularity = new DecayedCounts(Micros(options.PopularityHalfLife));
    }

    /// <inheritdoc/>
    public abstract string Name { get; }

    /// <summary>Read for queries, snapshots and statistics; write for updates, restores and model swaps.</summary>
    private protected ReaderWriterLockSlim Gate { get; } = new(LockRecursionPolicy.NoRecursion);

    private protected ItemCatalog Catalog { get; private set; }

    private protected UserProfiles Users { get; private set; }

    private protected DecayedCounts Popularity { get; private set; }

    private protected double ProfileHalfLifeMicros { get; }

    /// <summary>The newest event time applied.</summary>
    private protected long Newest { get; private set; } = long.MinValue;

    /// <inheritdoc/>
    public RecommenderStats Stats
    {
        get
        {
            Gate.EnterReadLock();
            try
            {
                return new(_events, _applied, _duplicates, _late, _rejectedItems, Users.Count, Catalog.Count);
            }
            finally
            {
                Gate.ExitReadLock();
            }
        }
    }

    /// <inheritdoc/>
    public void Update(in Interaction interaction)
    {
        LetWaitingQueriesIn();
        Gate.EnterWriteLock();
        try
        {
            Apply(interaction);
        }
        finally
        {
            Gate.ExitWriteLock();
        }
        AfterUpdate();
    }

    /// <inheritdoc/>
    public void Update(InteractionBatch batch)
    {
        for (var start = 0; start < batch.Length; start += UpdateChunk)
        {
            var end = Math.Min(batch.Length, start + UpdateChunk);
            LetWaitingQueriesIn();
            Gate.EnterWriteLock();
            try
            {
                for (var row = start; row < end; row++) Apply(batch[row]);
            }
            finally
            {
                Gate.ExitWriteLock();
            }
        }
        AfterUpdate();
    }

    /// <summary>Before taking the write lock again, waits until queries that queued behind the last chunk hold the read
    /// lock: otherwise an updater that releases and at once re-requests the lock (a waiting writer keeps new readers out)
    /// would starve them.</summary>
    private void LetWaitingQueriesIn()
    {
        var spin = new SpinWait();
        while (Gate.WaitingReadCount > 0) spin.SpinOnce(sleep1Threshold: -1);
    }

    /// <summary>Takes the read lock, spinning through an update chunk (tens of microseconds) before it would block: a
    /// blocked reader is woken by the kernel, which costs more than the chunk it waited for.</summary>
    private void EnterReadLockSpinning()
    {
        var spin = new SpinWait();
        for (var attempt = 0; attempt < 40; attempt++)
        {
            if (Gate.TryEnterReadLock(0)) return;
            spin.SpinOnce(sleep1Threshold: -1);
        }
        Gate.EnterReadLock();
    }

    private void Apply(in Interaction e)
    {
        _events++;
        if (Newest != long.MinValue && e.TimeMicros < Newest - _options.MaxLateness.Ticks / TimeSpan.TicksPerMicrosecond)
        {
            _late++;
            return;
        }
        var item = Catalog.GetOrAdd(e.Item, e.Category);
        if (item < 0)
        {
            _rejectedItems++;
            return;
        }
        var profile = Users.GetOrAdd(e.User);
        var change = profile.Record(item, e.TimeMicros, e.Weight, ProfileHalfLifeMicros, _options.ProfileCapacity);
        if (change == ProfileChange.Duplicate)
        {
            _duplicates++;
            return;
        }
        _applied++;
        if (e.TimeMicros > Newest) Newest = e.TimeMicros;
        Popularity.Add(item, e.Weight, e.TimeMicros);
        OnApplied(profile, item, change);
    }

    /// <summary>Model update for one applied event, under the write lock. The item is already in the profile (the newest
    /// entry when <paramref name="change"/> is <see cref="ProfileChange.NewItem"/>).</summary>
    private protected virtual void OnApplied(UserProfile profile, int item, ProfileChange change) { }

    /// <summary>Called after each Update outside the lock (EASE starts refits here).</summary>
    private protected virtual void AfterUpdate() { }

    /// <summary>Writes the model's score for every catalogue item into <paramref name="scores"/> (length = catalogue
    /// size), under the read lock, so it may run on several threads at once: scratch comes from
    /// <see cref="QueryScratch.Current"/>, never from fields. False when the model cannot answer yet.</summary>
    private protected abstract bool Score(UserProfile profile, Span<float> scores);

    /// <inheritdoc/>
    public RecommendResult Recommend(long user, int k, RecommendRequest? request, Span<ScoredItem> results)
    {
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be at least 1 (asked for {k} recommendations)");
        if (k > results.Length) throw new ArgumentException($"the results span holds {results.Length} items, fewer than k = {k}", nameof(results));
        request ??= RecommendRequest.Default;
        var scratch = QueryScratch.Current;
        EnterReadLockSpinning();
        try
        {
            var items = Catalog.Count;
            var scores = scratch.ScoresFor(items);
            var profile = Users.Find(user);
            RecommendationSource source;
            if (profile is null || profile.Count == 0)
            {
                Popularity.CopyTo(scores, Newest);
                source = RecommendationSource.PopularityUnknownUser;
            }
            else if (Score(profile, scores))
            {
                source = RecommendationSource.Model;
            }
            else
            {
                Popularity.CopyTo(scores, Newest);
                source = RecommendationSource.PopularityModelNotReady;
            }
            if (request.ExcludeSeen && profile is not null)
                foreach (var seen in profile.Items) scores[seen] = Excluded;
            if (request.Boosts is { } boosts)
            {
                foreach (var (id, boost) in boosts)
                {
                    var index = Catalog.IndexOf(id);
                    if (index >= 0) scores[index] += boost;
                }
            }
            var count = SelectTop(scores, Math.Min(k, items), request, scratch);
            var ids = Catalog.Ids;
            for (var i = 0; i < count; i++) results[i] = new ScoredItem(ids[scratch.HeapItems[i]], scratch.HeapScores[i]);
            return new RecommendResult(count, source);
        }
        finally
        {
            Gate.ExitReadLock();
        }
    }

    /// <summary>Keeps the best <paramref name="k"/> eligible items in a min-heap (ties: lower catalogue index wins),
    /// then sorts them best first into the heap arrays' front.</summary>
    private int SelectTop(Span<float> scores, int k, RecommendRequest request, QueryScratch scratch)
    {
        scratch.EnsureHeap(k);
        var heap = new TopKHeap(scratch.HeapItems.AsSpan(0, k), scratch.HeapScores.AsSpan(0, k));
        var categories = Catalog.Categories;
        var category = request.Category ?? Interaction.NoCategory;
        var filterCategory = request.Category.HasValue;
        if (request.AllowedItems is { } allowed)
        {
            foreach (var id in allowed)
            {
                var index = Catalog.IndexOf(id);
                if (index < 0) continue;
                var score = scores[index];
                if (!(score > Excluded) || (filterCategory && categories[index] != category)) continue;
                heap.Offer(index, score);
                scores[index] = Excluded; // an allowed set may hold an id twice
            }
        }
        else
        {
            for (var index = 0; index < scores.Length; index++)
            {
                var score = scores[index];
                if (!(score > Excluded) || (filterCategory && categories[index] != category)) continue;
                heap.Offer(index, score);
            }
        }
        return heap.SortDescending();
    }

    /// <inheritdoc/>
    public void Snapshot(Stream destination)
    {
        using var writer = new BinaryWriter(destination, System.Text.Encoding.UTF8, leaveOpen: true);
        Gate.EnterReadLock();
        try
        {
            writer.Write(SnapshotMagic);
            writer.Write(Name);
            writer.Write(_events);
            writer.Write(_applied);
            writer.Write(_duplicates);
            writer.Write(_late);
            writer.Write(_rejectedItems);
            writer.Write(Newest);
            Catalog.Write(writer);
            Popularity.Write(writer, Catalog.Count);
            Users.Write(writer);
            WriteModel(writer);
        }
        finally
        {
            Gate.ExitReadLock();
        }
    }

    /// <inheritdoc/>
    public void Restore(Stream source)
    {
        using var reader = new BinaryReader(source, System.Text.Encoding.UTF8, leaveOpen: true);
        try
        {
            if (reader.ReadString() != SnapshotMagic) throw new InvalidDataException("it is not a recommender snapshot");
            var name = reader.ReadString();
            if (name != Name) throw new InvalidDataException($"it holds a '{name}' model, this recommender is '{Name}'");
            Gate.EnterWriteLock();
            try
            {
                _events = reader.ReadInt64();
                _applied = reader.ReadInt64();
                _duplicates = reader.ReadInt64();
                _late = reader.ReadInt64();
                _rejectedItems = reader.ReadInt64();
                Newest = reader.ReadInt64();
                Catalog = ItemCatalog.Read(reader, _options.MaxItems);
                Popularity = new DecayedCounts(Micros(_options.PopularityHalfLife));
                Popularity.Read(reader, Catalog.Count);
                Users = UserProfiles.Read(reader, _options.ProfileCapacity, Catalog.Count);
                ReadModel(reader);
            }
            finally
            {
                Gate.ExitWriteLock();
            }
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException)
        {
            throw new StreamMlException($"cannot restore the '{Name}' recommender: {e.Message}", e);
        }
    }

    private const string SnapshotMagic = "StreamMl.Recommender/1";

    /// <summary>Writes the model's own state, under the read lock.</summary>
    private protected abstract void WriteModel(BinaryWriter writer);

    /// <summary>Reads what <see cref="WriteModel"/> wrote, under the write lock, after the shared state is restored.</summary>
    private protected abstract void ReadModel(BinaryReader reader);

    private static double Micros(TimeSpan? span) => span is { } s ? s.Ticks / (double)TimeSpan.TicksPerMicrosecond : 0;
}

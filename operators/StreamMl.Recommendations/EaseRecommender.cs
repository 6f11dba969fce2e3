using System.Diagnostics;
using StreamMl.Recommendations.Internal;
using StreamMl.Recommendations.Models;
using StreamMl.Recommendations.Profiles;

namespace StreamMl.Recommendations;

/// <summary>EASE (Steck, 2019): a closed-form item-item model B = I − P·diag(1/diag(P)), P = (XᵀX + λI)⁻¹, refit from
/// the live profiles every <see cref="EaseOptions.RefitEveryEvents"/> events. The refit copies the profiles under the
/// lock (milliseconds) and fits outside it, then swaps the new model in, so serving and updates never wait for the
/// fit. Scores come from the live profile, so a new event changes the next answer even between refits; before the
/// first fit the answer is the popularity fallback.</summary>
public sealed class EaseRecommender : Recommender
{
    private readonly EaseOptions _options;
    private EaseModel? _model;
    private long _eventsSinceRefit;
    private Task _refit = Task.CompletedTask;

    /// <summary>Creates the recommender; null options take the defaults.</summary>
    public EaseRecommender(EaseOptions? options = null) : base(options ?? new EaseOptions())
    {
        _options = options ?? new EaseOptions();
        _options.Validate();
    }

    /// <inheritdoc/>
    public override string Name => "ease";

    /// <summary>Items the current model covers (0 before the first fit).</summary>
    public int ModelItems => Volatile.Read(ref _model)?.Size ?? 0;

    /// <summary>Fits completed (including restored ones).</summary>
    public int Refits { get; private set; }

    /// <summary>How long the last fit took (copy, Gram matrix, inverse).</summary>
    public TimeSpan LastRefitDuration { get; private set; }

    /// <summary>The error of the last background fit, or null.</summary>
    public Exception? LastRefitError { get; private set; }

    /// <summary>The running background fit, or a completed task.</summary>
    public Task PendingRefit => Volatile.Read(ref _refit);

    private protected override void OnApplied(UserProfile profile, int item, ProfileChange change) => _eventsSinceRefit++;

    private protected override void AfterUpdate()
    {
        if (_options.RefitEveryEvents == 0 || Volatile.Read(ref _eventsSinceRefit) < _options.RefitEveryEvents) return;
        if (!_options.BackgroundRefit)
        {
            Refit();
            return;
        }
        Gate.EnterWriteLock();
        try
        {
            if (!_refit.IsCompleted) return;
            _refit = Task.Run(() =>
            {
                try
                {
                    Refit();
                }
                catch (Exception e)
                {
                    LastRefitError = e;
                }
            });
        }
        finally
        {
            Gate.ExitWriteLock();
        }
    }

    /// <summary>Fits a model on the current profiles now, on the calling thread, and swaps it in.</summary>
    public void Refit(CancellationToken cancellation = default)
    {
        var stopwatch = Stopwatch.StartNew();
        int[][] profiles;
        int[] items;
        int catalogItems;
        Gate.EnterWriteLock();
        try
        {
            catalogItems = Catalog.Count;
            var users = Users.All;
            profiles = new int[users.Count][];
            var userCounts = new int[catalogItems];
            for (var u = 0; u < users.Count; u++)
            {
                profiles[u] = users[u].Items.ToArray();
                foreach (var item in profiles[u]) userCounts[item]++;
            }
            items = MostCommon(userCounts, _options.MaxModelItems);
            _eventsSinceRefit = 0;
        }
        finally
        {
            Gate.ExitWriteLock();
        }
        var model = EaseModel.Fit(profiles, items, catalogItems, _options.Lambda, cancellation)
            ?? throw new InvalidOperationException($"the EASE Gram matrix over {items.Length} items is not positive definite; raise Lambda ({_options.Lambda})");
        Gate.EnterWriteLock();
        try
        {
            _model = model;
            Refits++;
            LastRefitDuration = stopwatch.Elapsed;
        }
        finally
        {
            Gate.ExitWriteLock();
        }
    }

    private static int[] MostCommon(int[] userCounts, int max)
    {
        var items = Enumerable.Range(0, userCounts.Length).Where(i => userCounts[i] > 0).ToArray();
        if (items.Length > max)
        {
            items = items.OrderByDescending(i => userCounts[i]).ThenBy(i => i).Take(max).ToArray();
            Array.Sort(items);
        }
        return items;
    }

    private protected override bool Score(UserProfile profile, Span<float> scores)
    {
        var model = _model;
        if (model is null) return false;
        var scratch = QueryScratch.Current;
        var weights = scratch.ProfileWeightsFor(profile.Count);
        for (var entry = 0; entry < weights.Length; entry++)
        {
            var weight = profile.DecayedWeight(entry, ProfileHalfLifeMicros);
            weights[entry] = weight < NegligibleWeight ? 0f : weight;
        }
        model.Score(profile.Items, weights, scratch.AccumulatorFor(model.Size), scores);
        return true;
    }

    private protected override void WriteModel(BinaryWriter writer)
    {
        writer.Write(_eventsSinceRefit);
        writer.Write(_model is not null);
        _model?.Write(writer);
    }

    private protected override void ReadModel(BinaryReader reader)
    {
        _eventsSinceRefit = reader.ReadInt64();
        _model = reader.ReadBoolean() ? EaseModel.Read(reader, Catalog.Count) : null;
        if (_model is not null) Refits++;
    }
}

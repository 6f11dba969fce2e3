using System.Diagnostics;

namespace StreamMl.Recommendations.Evaluation;

/// <summary>Offline evaluation of the same recommenders that serve online.</summary>
public static class RecommenderEvaluation
{
    /// <summary>The models <see cref="CreateModel"/> knows.</summary>
    public static IReadOnlyList<string> ModelNames { get; } = ["popularity", "itemknn", "ease"];

    /// <summary>Protocol names.</summary>
    public static IReadOnlyList<string> Protocols { get; } = ["leave-last-out", "prequential"];

    /// <summary>A model configured for evaluating on <paramref name="log"/>: profiles large enough to hold every user's
    /// whole history (so "unseen" means never seen), no popularity decay for leave-last-out, decay of 7 days for
    /// prequential, 100 neighbours for item-kNN, λ = 500 for EASE, refit every 5,000 events (in line) for prequential,
    /// and the profile half-life given (the library's default is 3 minutes; null for none).</summary>
    public static IRecommender CreateModel(string name, string protocol, InteractionLog log, TimeSpan? profileHalfLife)
    {
        var capacity = Math.Max(1, log.Users.CountBy(u => u).Select(g => g.Value).DefaultIfEmpty(1).Max());
        var prequential = protocol == "prequential";
        TimeSpan? popularityHalfLife = prequential ? TimeSpan.FromDays(7) : null;
        var lateness = TimeSpan.FromDays(365_000);
        return name switch
        {
            "popularity" => new PopularityRecommender(new RecommenderOptions
            {
                ProfileCapacity = capacity, PopularityHalfLife = popularityHalfLife, MaxLateness = lateness, ProfileHalfLife = profileHalfLife,
            }),
            "itemknn" => new ItemKnnRecommender(new ItemKnnOptions
            {
                ProfileCapacity = capacity, PopularityHalfLife = popularityHalfLife, MaxLateness = lateness,
                MaxNeighbours = 100, CoOccurrenceWindow = capacity, ProfileHalfLife = profileHalfLife,
            }),
            "ease" => new EaseRecommender(new EaseOptions
            {
                ProfileCapacity = capacity, PopularityHalfLife = popularityHalfLife, MaxLateness = lateness,
                Lambda = 500, RefitEveryEvents = prequential ? 5_000 : 0, BackgroundRefit = false, ProfileHalfLife = profileHalfLife,
            }),
            _ => throw new ArgumentException($"unknown model '{name}': use {string.Join(", ", ModelNames)}", nameof(name)),
        };
    }

    /// <summary>Leave-last-out: each user's latest event is the test item, every earlier event trains (in time order);
    /// each user with a test item gets one top-k list over every item they have not seen.</summary>
    public static EvaluationResult LeaveLastOut(IRecommender recommender, InteractionLog log, int k)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        var lastEvent = new Dictionary<long, int>();
        for (var i = 0; i < log.Count; i++) lastEvent[log.Users[i]] = i;
        var isTest = new bool[log.Count];
        foreach (var index in lastEvent.Values) isTest[index] = true;

        var train = Stopwatch.StartNew();
        var start = 0;
        for (var i = 0; i <= log.Count; i++)
        {
            if (i < log.Count && !isTest[i]) continue;
            if (i > start) recommender.Update(log.Slice(start, i - start));
            start = i + 1;
        }
        if (recommender is EaseRecommender ease) ease.Refit();
        train.Stop();

        var metrics = new RankingMetrics();
        var results = new ScoredItem[k];
        long fallbacks = 0;
        var recommend = Stopwatch.StartNew();
        foreach (var index in lastEvent.Values.Order())
        {
            var answer = recommender.Recommend(log.Users[index], k, RecommendRequest.Default, results);
            if (answer.IsFallback) fallbacks++;
            metrics.Add(results.AsSpan(0, answer.Count), log.Items[index]);
        }
        recommend.Stop();
        return Result(recommender, "leave-last-out", k, metrics, log, fallbacks, train.Elapsed, recommend.Elapsed);
    }

    /// <summary>Prequential: replay every event in time order; before learning from an event whose item is new to the
    /// user, ask for the user's top k and count a hit when the item is in it.</summary>
    public static EvaluationResult Prequential(IRecommender recommender, InteractionLog log, int k)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        var seen = new HashSet<(long, long)>();
        var metrics = new RankingMetrics();
        var results = new ScoredItem[k];
        long fallbacks = 0;
        var train = new Stopwatch();
        var recommend = new Stopwatch();
        for (var i = 0; i < log.Count; i++)
        {
            if (seen.Add((log.Users[i], log.Items[i])))
            {
                recommend.Start();
                var answer = recommender.Recommend(log.Users[i], k, RecommendRequest.Default, results);
                recommend.Stop();
                if (answer.IsFallback) fallbacks++;
                metrics.Add(results.AsSpan(0, answer.Count), log.Items[i]);
            }
            train.Start();
            recommender.Update(new Interaction(log.Users[i], log.Items[i], log.TimesMicros[i], log.Weights[i]));
            train.Stop();
        }
        return Result(recommender, "prequential", k, metrics, log, fallbacks, train.Elapsed, recommend.Elapsed);
    }

    private static EvaluationResult Result(IRecommender recommender, string protocol, int k, RankingMetrics metrics, InteractionLog log,
        long fallbacks, TimeSpan train, TimeSpan recommend) =>
        new(recommender.Name, protocol, k, metrics.Cases, metrics.HitRate, metrics.Ndcg, metrics.Coverage(log.Items.Distinct().Count()),
            metrics.Cases == 0 ? 0 : (double)fallbacks / metrics.Cases, train.TotalSeconds, recommend.TotalSeconds,
            metrics.Cases == 0 ? 0 : recommend.TotalMicroseconds / metrics.Cases, recommender is EaseRecommender ease ? ease.Refits : 0);
}

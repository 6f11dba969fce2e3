using BenchmarkDotNet.Attributes;
using StreamMl.Recommendations;

namespace StreamMl.Benchmarks.Recommendations;

/// <summary>One Recommend call (top 10, seen items excluded) for a known user with a 200-item profile over a
/// 10,000-item catalogue, per model. EASE covers the 2,000 most common items (a 10,000-item fit is a minutes-long
/// setup on this machine); popularity is the peer.</summary>
[MemoryDiagnoser]
public class RecommendLatencyBenchmarks
{
    private readonly ScoredItem[] _results = new ScoredItem[10];
    private IRecommender _recommender = null!;
    private int _user;

    /// <summary>The model.</summary>
    [Params("popularity", "itemknn", "ease")]
    public string Model { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        _recommender = Model switch
        {
            "popularity" => new PopularityRecommender(),
            "itemknn" => new ItemKnnRecommender(),
            _ => new EaseRecommender(new EaseOptions { RefitEveryEvents = 0, MaxModelItems = 2_000 }),
        };
        // 2,000 users × ~250 events over 10,000 items: every item appears, profiles are full (200).
        InteractionStream.Feed(_recommender, InteractionStream.Create(seed: 3, events: 500_000, users: 2_000, items: 10_000));
        (_recommender as EaseRecommender)?.Refit();
    }

    [Benchmark]
    public int Recommend()
    {
        _user = (_user + 1) % 2_000;
        return _recommender.Recommend(_user, 10, null, _results).Count;
    }
}

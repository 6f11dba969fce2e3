using BenchmarkDotNet.Attributes;
using StreamMl.Recommendations;

namespace StreamMl.Benchmarks.Recommendations;

/// <summary>An EASE refit (copy profiles, Gram matrix, Cholesky inverse, B) on 100,000 interactions: 1,000 users,
/// [Params] items (1,682 is MovieLens-100k's catalogue).</summary>
[MemoryDiagnoser]
public class EaseRefitBenchmarks
{
    private EaseRecommender _ease = null!;

    /// <summary>Items in the catalogue.</summary>
    [Params(1_682, 3_000)]
    public int Items { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _ease = new EaseRecommender(new EaseOptions { RefitEveryEvents = 0, ProfileCapacity = 1_000 });
        InteractionStream.Feed(_ease, InteractionStream.Create(seed: 4, events: 100_000, users: 1_000, items: Items));
    }

    [Benchmark]
    public void Refit() => _ease.Refit();
}

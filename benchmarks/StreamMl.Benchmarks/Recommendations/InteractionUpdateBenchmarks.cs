using BenchmarkDotNet.Attributes;
using StreamMl.Recommendations;

namespace StreamMl.Benchmarks.Recommendations;

/// <summary>Interaction events through the update path, one batch of 4,096 per invoke, on one thread: item-kNN
/// (profile, popularity, co-occurrence with the 10 most recent items both ways) against popularity alone (profile and
/// decayed count, the peer). 2,000 users, 10,000 items, warmed with 1 M events so profiles (200 items) and neighbour
/// rows are full; each invoke takes the next 4,096 events of a 2 M-event stream with times moved forward, so events stay new.</summary>
[MemoryDiagnoser]
public class InteractionUpdateBenchmarks
{
    private const int Batch = 4096;
    private (long[] Users, long[] Items, long[] Times) _stream;
    private long[] _times = new long[Batch];
    private ItemKnnRecommender _knn = null!;
    private PopularityRecommender _popularity = null!;
    private int _position;
    private long _offset;

    [GlobalSetup]
    public void Setup()
    {
        _stream = InteractionStream.Create(seed: 1, events: 2_000_000, users: 2_000, items: 10_000);
        var warm = InteractionStream.Create(seed: 2, events: 1_000_000, users: 2_000, items: 10_000);
        _knn = new ItemKnnRecommender();
        _popularity = new PopularityRecommender();
        InteractionStream.Feed(_knn, warm);
        InteractionStream.Feed(_popularity, warm);
        _offset = warm.Times[^1] - InteractionStream.Start;
    }

    private InteractionBatch Next()
    {
        if (_position + Batch > _stream.Users.Length)
        {
            _position = 0;
            _offset += _stream.Times[^1] - InteractionStream.Start;
        }
        var times = _stream.Times.AsSpan(_position, Batch);
        for (var i = 0; i < Batch; i++) _times[i] = times[i] + _offset;
        var batch = new InteractionBatch(_stream.Users.AsSpan(_position, Batch), _stream.Items.AsSpan(_position, Batch), _times);
        _position += Batch;
        return batch;
    }

    /// <summary>Popularity: profile and decayed count per event (the peer).</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Batch)]
    public void Popularity() => _popularity.Update(Next());

    /// <summary>Item-kNN: profile, decayed count and co-occurrence rows per event.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public void ItemKnn() => _knn.Update(Next());
}

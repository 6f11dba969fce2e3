using BenchmarkDotNet.Attributes;
using StreamMl.Recommendations;
using StreamMl.Recommendations.Serving;

namespace StreamMl.Benchmarks.Recommendations;

/// <summary>The feedback join on the pipeline thread: 4,096 interactions of 2,000 users who each hold an open
/// impression of 10 items, joined one lock per event (the peer, as before) or one lock per chunk of 64 events.</summary>
[MemoryDiagnoser]
public class FeedbackJoinBenchmarks
{
    private const int Batch = 4096;
    private readonly long[] _users = new long[Batch];
    private readonly long[] _items = new long[Batch];
    private FeedbackJoin _join = null!;

    [GlobalSetup]
    public void Setup()
    {
        _join = new FeedbackJoin(2, TimeSpan.FromDays(1), TimeProvider.System);
        var served = new ScoredItem[10];
        for (var user = 0; user < 2_000; user++)
        {
            for (var i = 0; i < served.Length; i++) served[i] = new ScoredItem(user + i, 1);
            _join.Served(user, user % 2, served);
        }
        var random = new Random(1);
        for (var i = 0; i < Batch; i++)
        {
            _users[i] = random.Next(2_000);
            _items[i] = _users[i] + random.Next(20);
        }
    }

    /// <summary>One lock per event.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Batch)]
    public void PerEvent()
    {
        for (var i = 0; i < Batch; i++) _join.Interacted(_users[i], _items[i]);
    }

    /// <summary>One lock per 64 events.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public void PerChunk() => _join.Interacted(_users, _items);
}

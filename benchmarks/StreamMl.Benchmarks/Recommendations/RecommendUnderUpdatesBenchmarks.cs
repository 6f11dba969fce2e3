using BenchmarkDotNet.Attributes;
using StreamMl.Recommendations;

namespace StreamMl.Benchmarks.Recommendations;

/// <summary>One Recommend call (top 10, seen excluded, known user, 10,000-item catalogue) while another thread feeds the
/// same recommender batches of 4,096 events without pause: what a query pays for waiting on updates. Popularity is the
/// peer; without the updater the same calls are <see cref="RecommendLatencyBenchmarks"/>.</summary>
[MemoryDiagnoser]
public class RecommendUnderUpdatesBenchmarks
{
    private const int Batch = 4096;
    private readonly ScoredItem[] _results = new ScoredItem[10];
    private IRecommender _recommender = null!;
    private Thread? _updater;
    private volatile bool _stop;
    private long _updates;
    private int _user;

    /// <summary>The model.</summary>
    [Params("popularity", "itemknn")]
    public string Model { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        _recommender = Model == "popularity" ? new PopularityRecommender() : new ItemKnnRecommender();
        var warm = InteractionStream.Create(seed: 3, events: 500_000, users: 2_000, items: 10_000);
        InteractionStream.Feed(_recommender, warm);
        var stream = InteractionStream.Create(seed: 4, events: 1_000_000, users: 2_000, items: 10_000);
        var offset = warm.Times[^1] - InteractionStream.Start;
        _updater = new Thread(() =>
        {
            var times = new long[Batch];
            var position = 0;
            while (!_stop)
            {
                if (position + Batch > stream.Users.Length)
                {
                    position = 0;
                    offset += stream.Times[^1] - InteractionStream.Start;
                }
                for (var i = 0; i < Batch; i++) times[i] = stream.Times[position + i] + offset;
                _recommender.Update(new InteractionBatch(stream.Users.AsSpan(position, Batch), stream.Items.AsSpan(position, Batch), times));
                position += Batch;
                Interlocked.Add(ref _updates, Batch);
            }
        }) { IsBackground = true, Name = "updater" };
        _updater.Start();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _stop = true;
        _updater?.Join();
        Console.WriteLine($"// updater applied {Interlocked.Read(ref _updates):N0} events during the run");
    }

    [Benchmark]
    public int Recommend()
    {
        _user = (_user + 1) % 2_000;
        return _recommender.Recommend(_user, 10, null, _results).Count;
    }
}

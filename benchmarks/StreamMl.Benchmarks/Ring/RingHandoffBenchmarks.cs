using System.Collections.Concurrent;
using System.Threading.Channels;
using System.Threading.Tasks.Dataflow;
using BenchmarkDotNet.Attributes;
using StreamMl.Engine.Ring;

namespace StreamMl.Benchmarks.Ring;

/// <summary>Single-item handoff from one producer to one consumer (1P1C) and through a 3-stage pipeline, StreamMl's ring
/// against a bounded Channel, BlockingCollection and TPL Dataflow. Each operation moves <see cref="Items"/> longs; results
/// are per item (OperationsPerInvoke). Every peer has the same capacity (1024) and runs its consumers on their own threads or tasks.</summary>
[MemoryDiagnoser]
public class RingHandoffBenchmarks
{
    private const int Items = 1_000_000;
    private const int Capacity = 1024;

    [Params(1, 3)]
    public int Stages { get; set; }

    private sealed class LongEvent
    {
        public long Value;
    }

    private struct StageHandler : IEventHandler<LongEvent>
    {
        public void OnEvent(LongEvent data, long sequence, bool endOfBatch) => data.Value++;
    }

    private RingBuffer<LongEvent> _ring = null!;
    private IEventProcessor[] _processors = [];
    private Thread[] _threads = [];

    private Channel<long>[] _channels = [];
    private BlockingCollection<long>[] _collections = [];
    private long _received;

    [GlobalSetup(Target = nameof(StreamMlRing))]
    public void SetupRing()
    {
        _ring = new RingBuffer<LongEvent>(() => new LongEvent(), Capacity, ProducerType.Single, new YieldingWaitStrategy());
        var processors = new List<IEventProcessor>();
        var previous = Array.Empty<Sequence>();
        for (var i = 0; i < Stages; i++)
        {
            var processor = new BatchEventProcessor<LongEvent, StageHandler>(_ring, _ring.NewBarrier(previous), new StageHandler());
            processors.Add(processor);
            previous = [processor.Sequence];
        }
        _ring.AddGatingSequences(previous);
        _processors = [.. processors];
        _threads = _processors.Select(p => new Thread(p.Run) { IsBackground = true }).ToArray();
        foreach (var thread in _threads) thread.Start();
    }

    [GlobalCleanup(Target = nameof(StreamMlRing))]
    public void CleanupRing()
    {
        foreach (var processor in _processors) processor.Halt();
        foreach (var thread in _threads) thread.Join();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Items, Description = "Channel (bounded)")]
    public async Task BoundedChannel()
    {
        _channels = Enumerable.Range(0, Stages).Select(_ => Channel.CreateBounded<long>(
            new BoundedChannelOptions(Capacity) { SingleReader = true, SingleWriter = true })).ToArray();
        var tasks = new List<Task>();
        for (var i = 0; i < Stages; i++)
        {
            var reader = _channels[i].Reader;
            var writer = i + 1 < Stages ? _channels[i + 1].Writer : null;
            tasks.Add(Task.Run(async () =>
            {
                while (await reader.WaitToReadAsync().ConfigureAwait(false))
                    while (reader.TryRead(out var value))
                        if (writer is not null && !writer.TryWrite(value + 1)) await writer.WriteAsync(value + 1).ConfigureAwait(false);
                writer?.Complete();
            }));
        }
        var first = _channels[0].Writer;
        for (long i = 0; i < Items; i++)
            if (!first.TryWrite(i)) await first.WriteAsync(i).ConfigureAwait(false);
        first.Complete();
        await Task.WhenAll(tasks).ConfigureAwait(false);
    }

    [Benchmark(OperationsPerInvoke = Items, Description = "StreamMl ring")]
    public void StreamMlRing()
    {
        var start = _ring.Cursor;
        for (long i = 0; i < Items; i++)
        {
            var sequence = _ring.Next();
            _ring[sequence].Value = i;
            _ring.Publish(sequence);
        }
        var last = start + Items;
        var end = _processors[^1].Sequence;
        var spinner = new SpinWait();
        while (end.Value < last) spinner.SpinOnce(sleep1Threshold: -1);
    }

    [Benchmark(OperationsPerInvoke = Items, Description = "BlockingCollection")]
    public void BlockingCollectionHandoff()
    {
        _collections = Enumerable.Range(0, Stages).Select(_ => new BlockingCollection<long>(Capacity)).ToArray();
        var threads = new List<Thread>();
        for (var i = 0; i < Stages; i++)
        {
            var input = _collections[i];
            var output = i + 1 < Stages ? _collections[i + 1] : null;
            var thread = new Thread(() =>
            {
                foreach (var value in input.GetConsumingEnumerable()) output?.Add(value + 1);
                output?.CompleteAdding();
            });
            threads.Add(thread);
            thread.Start();
        }
        for (long i = 0; i < Items; i++) _collections[0].Add(i);
        _collections[0].CompleteAdding();
        threads.ForEach(t => t.Join());
    }

    [Benchmark(OperationsPerInvoke = Items, Description = "TPL Dataflow")]
    public async Task Dataflow()
    {
        _received = 0;
        var options = new ExecutionDataflowBlockOptions { BoundedCapacity = Capacity, SingleProducerConstrained = true };
        var link = new DataflowLinkOptions { PropagateCompletion = true };
        var last = new ActionBlock<long>(_ => _received++, options);
        ITargetBlock<long> head = last;
        for (var i = 1; i < Stages; i++)
        {
            var transform = new TransformBlock<long, long>(v => v + 1, options);
            transform.LinkTo((ITargetBlock<long>)head, link);
            head = transform;
        }
        for (long i = 0; i < Items; i++)
            if (!head.Post(i)) await head.SendAsync(i).ConfigureAwait(false);
        head.Complete();
        await last.Completion.ConfigureAwait(false);
    }
}

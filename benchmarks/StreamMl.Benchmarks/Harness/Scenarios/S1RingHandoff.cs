using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reactive.Concurrency;
using System.Reactive.Linq;
using System.Reactive.Subjects;
using System.Threading.Channels;
using System.Threading.Tasks.Dataflow;
using Akka.Streams;
using Akka.Streams.Dsl;
using HdrHistogram;
using StreamMl.Engine.Ring;

namespace StreamMl.Benchmarks.Harness.Scenarios;

/// <summary>S1: one producer hands single items to one consumer. Each item is the Stopwatch timestamp of its send, so
/// the consumer records the handoff latency. Capacity 1024 where the peer has a bound (Rx has none).</summary>
public sealed class S1RingHandoff(WaitStrategyKind waitStrategy = WaitStrategyKind.Yielding) : IScenario
{
    private const int Capacity = 1024;

    /// <inheritdoc/>
    public string Id => "S1";

    /// <inheritdoc/>
    public string Title => "ring handoff, 1 producer → 1 consumer, single items";

    /// <inheritdoc/>
    public IReadOnlyList<IScenarioVariant> Variants =>
    [
        new Variant("StreamMl ring", true, RingAsync),
        new Variant("Channel<T> (bounded)", false, ChannelAsync),
        new Variant("BlockingCollection", false, BlockingCollectionAsync),
        new Variant("TPL Dataflow", false, DataflowAsync),
        new Variant("Rx.NET (ObserveOn)", false, RxAsync),
        new Variant("Akka.Streams", false, AkkaAsync),
    ];

    internal static long Items(ScenarioSize size) => size == ScenarioSize.Smoke ? 20_000 : 5_000_000;

    private sealed class Variant(string name, bool isStreamMl, Func<long, LongHistogram, Task> run) : IScenarioVariant
    {
        public string Name => name;
        public bool IsStreamMl => isStreamMl;

        public async Task<(long Rows, long Bytes)> RunAsync(ScenarioSize size, LongHistogram latency, CancellationToken cancellationToken)
        {
            var items = Items(size);
            await run(items, latency).ConfigureAwait(false);
            return (latency.TotalCount, 0);
        }
    }

    private static void Record(LongHistogram latency, long sentAt) => latency.RecordValue(Math.Max(1, Stopwatch.GetTimestamp() - sentAt));

    private sealed class Slot
    {
        public long SentAt;
    }

    private readonly struct Recorder(LongHistogram latency) : IEventHandler<Slot>
    {
        public void OnEvent(Slot data, long sequence, bool endOfBatch) => Record(latency, data.SentAt);
    }

    private Task RingAsync(long items, LongHistogram latency)
    {
        var ring = new RingBuffer<Slot>(() => new Slot(), Capacity, ProducerType.Single, WaitStrategy.Create(waitStrategy));
        var processor = new BatchEventProcessor<Slot, Recorder>(ring, ring.NewBarrier(), new Recorder(latency));
        ring.AddGatingSequences(processor.Sequence);
        var consumer = new Thread(processor.Run) { IsBackground = true };
        consumer.Start();
        for (long i = 0; i < items; i++)
        {
            var sequence = ring.Next();
            ring[sequence].SentAt = Stopwatch.GetTimestamp();
            ring.Publish(sequence);
        }
        var spinner = new SpinWait();
        while (processor.Sequence.Value < items - 1) spinner.SpinOnce(sleep1Threshold: -1);
        processor.Halt();
        consumer.Join();
        return Task.CompletedTask;
    }

    private static async Task ChannelAsync(long items, LongHistogram latency)
    {
        var channel = Channel.CreateBounded<long>(new BoundedChannelOptions(Capacity) { SingleReader = true, SingleWriter = true });
        var consumer = Task.Run(async () =>
        {
            while (await channel.Reader.WaitToReadAsync().ConfigureAwait(false))
                while (channel.Reader.TryRead(out var sentAt)) Record(latency, sentAt);
        });
        for (long i = 0; i < items; i++)
        {
            var now = Stopwatch.GetTimestamp();
            if (!channel.Writer.TryWrite(now)) await channel.Writer.WriteAsync(now).ConfigureAwait(false);
        }
        channel.Writer.Complete();
        await consumer.ConfigureAwait(false);
    }

    private static Task BlockingCollectionAsync(long items, LongHistogram latency)
    {
        using var queue = new BlockingCollection<long>(Capacity);
        var consumer = new Thread(() =>
        {
            foreach (var sentAt in queue.GetConsumingEnumerable()) Record(latency, sentAt);
        });
        consumer.Start();
        for (long i = 0; i < items; i++) queue.Add(Stopwatch.GetTimestamp());
        queue.CompleteAdding();
        consumer.Join();
        return Task.CompletedTask;
    }

    private static async Task DataflowAsync(long items, LongHistogram latency)
    {
        var block = new ActionBlock<long>(sentAt => Record(latency, sentAt),
            new ExecutionDataflowBlockOptions { BoundedCapacity = Capacity, SingleProducerConstrained = true });
        for (long i = 0; i < items; i++)
        {
            var now = Stopwatch.GetTimestamp();
            if (!block.Post(now)) await block.SendAsync(now).ConfigureAwait(false);
        }
        block.Complete();
        await block.Completion.ConfigureAwait(false);
    }

    private static async Task RxAsync(long items, LongHistogram latency)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var scheduler = new EventLoopScheduler();
        using var subject = new Subject<long>();
        using var subscription = subject.ObserveOn(scheduler).Subscribe(sentAt => Record(latency, sentAt), () => done.SetResult());
        for (long i = 0; i < items; i++) subject.OnNext(Stopwatch.GetTimestamp());
        subject.OnCompleted();
        await done.Task.ConfigureAwait(false);
    }

    private static IEnumerable<long> Timestamps(long items)
    {
        for (long i = 0; i < items; i++) yield return Stopwatch.GetTimestamp();
    }

    private static Task AkkaAsync(long items, LongHistogram latency) =>
        Source.From(Timestamps(items))
            .Async()
            .Buffer(Capacity, OverflowStrategy.Backpressure)
            .RunForeach(sentAt => Record(latency, sentAt), AkkaSystem.Materializer);
}

using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using StreamMl.Engine.Ring;

namespace StreamMl.Engine.Tests.Ring;

/// <summary>Properties of the ring over random sizes, claim sizes, producer counts, consumer speeds and topologies.</summary>
public sealed class RingBufferProperties
{
    private sealed class Slot
    {
        public long Value;
        public int Producer;
    }

    /// <summary>Records what a consumer saw, and checks its own ordering rules while running.</summary>
    private sealed class Recorder(int producers, int delayEvery, Func<long>? inFlight = null) : IEventHandler<Slot>
    {
        public readonly List<(int Producer, long Value)> Seen = [];
        public readonly long[] LastPerProducer = Enumerable.Repeat(-1L, producers).ToArray();
        public bool OrderBroken;
        public long MaxInFlight;
        public int Count;

        public void OnEvent(Slot data, long sequence, bool endOfBatch)
        {
            if (data.Value <= LastPerProducer[data.Producer]) OrderBroken = true;
            LastPerProducer[data.Producer] = data.Value;
            Seen.Add((data.Producer, data.Value));
            if (inFlight is not null) MaxInFlight = Math.Max(MaxInFlight, inFlight());
            if (delayEvery > 0 && ++Count % delayEvery == 0) Thread.SpinWait(2000);
        }
    }

    private static (int Size, int Producers, int ItemsPerProducer, int Claim, int[] Delays, WaitStrategyKind Wait) Shape(
        int sizeExp, int producers, int items, int claim, int[] delays, int wait) =>
        (1 << (sizeExp % 6), 1 + producers % 3, 1 + items % 400, 1 + claim % 4, delays, (wait % 4) switch
        {
            0 => WaitStrategyKind.Blocking,
            1 => WaitStrategyKind.Yielding,
            2 => WaitStrategyKind.Sleeping,
            _ => WaitStrategyKind.BusySpin,
        });

    private static void Produce(RingBuffer<Slot> ring, int producers, int itemsPerProducer, int claim)
    {
        var threads = Enumerable.Range(0, producers).Select(p => new Thread(() =>
        {
            var produced = 0;
            while (produced < itemsPerProducer)
            {
                var n = Math.Min(Math.Min(claim, ring.Size), itemsPerProducer - produced);
                var high = ring.Next(n);
                var low = high - n + 1;
                for (var s = low; s <= high; s++)
                {
                    ring[s].Value = produced++;
                    ring[s].Producer = p;
                }
                ring.Publish(low, high);
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
    }

    private static void DrainAndHalt(RingBuffer<Slot> ring, IEnumerable<IEventProcessor> processors, List<Thread> threads)
    {
        var last = ring.Cursor;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        foreach (var processor in processors)
            while (processor.Sequence.Value < last)
            {
                if (DateTime.UtcNow > deadline) throw new TimeoutException($"consumer stuck at {processor.Sequence.Value} of {last}");
                Thread.Sleep(1);
            }
        foreach (var processor in processors) processor.Halt();
        threads.ForEach(t => t.Join());
    }

    private static List<Thread> Run(params IEventProcessor[] processors)
    {
        var threads = processors.Select(p => new Thread(p.Run) { IsBackground = true }).ToList();
        threads.ForEach(t => t.Start());
        return threads;
    }

    [Property(MaxTest = 40)]
    public Property Every_item_reaches_every_consumer_exactly_once_in_order(
        NonNegativeInt sizeExp, NonNegativeInt producers, NonNegativeInt items, NonNegativeInt claim, int[] delays, NonNegativeInt wait)
    {
        var shape = Shape(sizeExp.Get, producers.Get, items.Get, claim.Get, delays ?? [], wait.Get);
        var consumers = 1 + (delays?.Length ?? 0) % 3;
        var ring = new RingBuffer<Slot>(() => new Slot(), shape.Size,
            shape.Producers == 1 ? ProducerType.Single : ProducerType.Multi, WaitStrategy.Create(shape.Wait));
        var recorders = Enumerable.Range(0, consumers)
            .Select(c => new Recorder(shape.Producers, c < shape.Delays.Length ? 1 + Math.Abs(shape.Delays[c] % 7) : 0,
                () => ring.Cursor - ring.Sequencer.MinimumGatingSequence))
            .ToArray();
        var processors = recorders
            .Select(r => new BatchEventProcessor<Slot, Recorder>(ring, ring.NewBarrier(), r, timeout: TimeSpan.FromMilliseconds(10)))
            .ToArray();
        ring.AddGatingSequences(processors.Select(p => p.Sequence).ToArray());
        var threads = Run(processors);

        Produce(ring, shape.Producers, shape.ItemsPerProducer, shape.Claim);
        DrainAndHalt(ring, processors, threads);

        var expected = Enumerable.Range(0, shape.Producers)
            .SelectMany(p => Enumerable.Range(0, shape.ItemsPerProducer).Select(v => (p, (long)v)))
            .OrderBy(x => x).ToList();
        return recorders.All(r =>
                !r.OrderBroken
                && r.Seen.OrderBy(x => x).SequenceEqual(expected)
                && r.MaxInFlight <= shape.Size)
            .Label($"shape={shape}");
    }

    [Property(MaxTest = 25)]
    public Property Diamond_keeps_order_per_branch_and_join_sees_both_branches_first(
        NonNegativeInt sizeExp, NonNegativeInt items, NonNegativeInt producers)
    {
        var size = 1 << (1 + sizeExp.Get % 5);
        var count = 1 + items.Get % 500;
        var producerCount = 1 + producers.Get % 2;
        var ring = new RingBuffer<Slot>(() => new Slot(), size, producerCount == 1 ? ProducerType.Single : ProducerType.Multi,
            new YieldingWaitStrategy());
        var left = new Recorder(producerCount, 3);
        var right = new Recorder(producerCount, 5);
        var leftProcessor = new BatchEventProcessor<Slot, Recorder>(ring, ring.NewBarrier(), left);
        var rightProcessor = new BatchEventProcessor<Slot, Recorder>(ring, ring.NewBarrier(), right);
        var join = new JoinChecker(leftProcessor.Sequence, rightProcessor.Sequence, producerCount);
        var joinProcessor = new BatchEventProcessor<Slot, JoinChecker>(ring,
            ring.NewBarrier(leftProcessor.Sequence, rightProcessor.Sequence), join);
        ring.AddGatingSequences(joinProcessor.Sequence);
        var threads = Run(leftProcessor, rightProcessor, joinProcessor);

        Produce(ring, producerCount, count, 1);
        DrainAndHalt(ring, [leftProcessor, rightProcessor, joinProcessor], threads);

        return (!left.OrderBroken && !right.OrderBroken && !join.Recorder.OrderBroken && !join.SawUnfinishedBranch
                && left.Seen.Count == count * producerCount && right.Seen.Count == count * producerCount
                && join.Recorder.Seen.Count == count * producerCount)
            .Label($"size={size} items={count} producers={producerCount}");
    }

    private sealed class JoinChecker(Sequence left, Sequence right, int producers) : IEventHandler<Slot>
    {
        public readonly Recorder Recorder = new(producers, 0);
        public bool SawUnfinishedBranch;

        public void OnEvent(Slot data, long sequence, bool endOfBatch)
        {
            if (left.Value < sequence || right.Value < sequence) SawUnfinishedBranch = true;
            Recorder.OnEvent(data, sequence, endOfBatch);
        }
    }

    [Fact]
    public void Producer_cannot_lap_a_stopped_consumer()
    {
        var ring = new RingBuffer<Slot>(() => new Slot(), 8);
        var consumer = new Sequence();
        ring.AddGatingSequences(consumer);
        for (var i = 0; i < 8; i++) Assert.True(ring.TryNext(out _));
        Assert.False(ring.TryNext(out _));
        consumer.Value = 0;
        Assert.True(ring.TryNext(out var next));
        Assert.Equal(8, next);
    }

    [Fact]
    public void Ring_size_must_be_a_power_of_two()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new RingBuffer<Slot>(() => new Slot(), 6));
    }

    [Fact]
    public void A_handler_exception_goes_to_the_exception_handler_and_processing_continues()
    {
        var ring = new RingBuffer<Slot>(() => new Slot(), 16, ProducerType.Single, new BlockingWaitStrategy());
        var errors = new ErrorCollector();
        var handler = new ThrowOnOdd();
        var processor = new BatchEventProcessor<Slot, ThrowOnOdd>(ring, ring.NewBarrier(), handler, errors);
        ring.AddGatingSequences(processor.Sequence);
        var threads = Run(processor);
        for (var i = 0; i < 10; i++)
        {
            var s = ring.Next();
            ring[s].Value = i;
            ring.Publish(s);
        }
        DrainAndHalt(ring, [processor], threads);
        Assert.Equal([1L, 3, 5, 7, 9], errors.Failed);
        Assert.Equal([0L, 2, 4, 6, 8], handler.Handled);
        Assert.Null(processor.Fault);
    }

    private sealed class ThrowOnOdd : IEventHandler<Slot>
    {
        public readonly List<long> Handled = [];

        public void OnEvent(Slot data, long sequence, bool endOfBatch)
        {
            if (data.Value % 2 == 1) throw new InvalidOperationException($"odd {data.Value}");
            Handled.Add(data.Value);
        }
    }

    private sealed class ErrorCollector : IExceptionHandler<Slot>
    {
        public readonly List<long> Failed = [];

        public void HandleEventException(Exception exception, long sequence, Slot data) => Failed.Add(data.Value);
    }
}

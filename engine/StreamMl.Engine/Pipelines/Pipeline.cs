using System.Diagnostics;
using StreamMl.Engine.Ring;

namespace StreamMl.Engine;

/// <summary>A running graph: one source feeding a ring of batch slots, operators in sequence, sinks in parallel.
/// Build one with <see cref="From"/>. A slow sink holds the source back (the ring never holds more than
/// <see cref="PipelineOptions.RingSize"/> batches), positions are committed once every sink made a batch durable,
/// and a pipeline over a bounded source completes by itself when the source is exhausted.</summary>
public sealed class Pipeline : IAsyncDisposable
{
    private readonly IBatchSource _source;
    private readonly IBatchOperator[] _operators;
    private readonly IBatchOperator[][] _workers;
    private readonly IBatchSink[] _sinks;
    private readonly PipelineOptions _options;
    private readonly BatchPool _pool;
    private readonly RingBuffer<ColumnBatch> _ring;
    private readonly IEventProcessor[] _processors;
    private readonly StageContext[] _operatorContexts;
    private readonly CheckpointTracker _checkpoints;
    private readonly StageCounters _sourceCounters;
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stopSource = new();
    private readonly List<Thread> _threads = [];
    private Thread? _producer;
    private Exception? _fault;
    private long _lastPublished = -1;
    private int _state; // 0 built, 1 started, 2 stopping, 3 done
    private int _disposed;

    private Pipeline(IBatchSource source, IReadOnlyList<(IBatchOperator Operator, int Workers)> operators, IReadOnlyList<IBatchSink> sinks, PipelineOptions options)
    {
        _source = source;
        _operators = operators.Select(o => o.Operator).ToArray();
        _sinks = [.. sinks];
        _options = options;
        DeadLetters = options.DeadLetters ?? new CollectingDeadLetterSink();

        var schema = source.Schema;
        _workers = new IBatchOperator[_operators.Length][];
        for (var i = 0; i < _operators.Length; i++)
        {
            var input = schema;
            schema = _operators[i].Bind(input);
            _workers[i] = [_operators[i], .. CreateWorkers(_operators[i], operators[i].Workers)];
            foreach (var worker in _workers[i].Skip(1)) worker.Bind(input);
        }
        Schema = schema;

        _pool = new BatchPool(schema, options.BatchCapacity, maxRetained: options.RingSize);
        _ring = new RingBuffer<ColumnBatch>(_pool.Rent, options.RingSize, ProducerType.Single, WaitStrategy.Create(options.WaitStrategy));
        _checkpoints = new CheckpointTracker(source, _sinks.Length, DeadLetters);
        _sourceCounters = new StageCounters(source.Name, StageKind.Source);

        var counters = new List<StageCounters> { _sourceCounters };
        var processors = new List<IEventProcessor>();
        var contexts = new List<StageContext>();
        var previous = Array.Empty<Sequence>();
        for (var i = 0; i < _operators.Length; i++)
        {
            // A parallel stage: worker w handles the batches whose sequence is w modulo the worker count and steps over
            // the others; the next stage waits on every worker, i.e. on the slowest, so it sees batches in order.
            var workers = _workers[i];
            var barrier = _ring.NewBarrier(previous);
            var stage = new Sequence[workers.Length];
            for (var w = 0; w < workers.Length; w++)
            {
                var stageCounters = new StageCounters(w == 0 ? _operators[i].Name : $"{_operators[i].Name}#{w + 1}", StageKind.Operator);
                counters.Add(stageCounters);
                var context = new StageContext(options.Name, _operators[i].Name, DeadLetters, source);
                contexts.Add(context);
                var handler = new OperatorHandler(workers[w], context, stageCounters, options.ErrorPolicy, w, workers.Length);
                var processor = new BatchEventProcessor<ColumnBatch, OperatorHandler>(_ring, barrier, handler);
                stageCounters.WaitTicksSource = () => processor.WaitTicks;
                processors.Add(processor);
                stage[w] = processor.Sequence;
            }
            previous = stage;
        }
        _operatorContexts = [.. contexts];
        var sinkSequences = new List<Sequence>();
        for (var i = 0; i < _sinks.Length; i++)
        {
            var stageCounters = new StageCounters(_sinks[i].Name, StageKind.Sink);
            counters.Add(stageCounters);
            var handler = new SinkHandler(_sinks[i], i, stageCounters, _checkpoints, options);
            var processor = new BatchEventProcessor<ColumnBatch, SinkHandler>(_ring, _ring.NewBarrier(previous), handler,
                timeout: options.FlushInterval);
            stageCounters.WaitTicksSource = () => processor.WaitTicks;
            processors.Add(processor);
            sinkSequences.Add(processor.Sequence);
        }
        // The producer must not lap the slowest stage at the end of the graph.
        _ring.AddGatingSequences(sinkSequences.Count > 0 ? [.. sinkSequences] : previous);
        _processors = [.. processors];
        Stages = counters;
    }

    /// <summary>Starts building a pipeline that reads <paramref name="source"/>.</summary>
    public static PipelineBuilder From(IBatchSource source, PipelineOptions? options = null) => new(source, options ?? new PipelineOptions());

    internal static Pipeline Create(IBatchSource source, IReadOnlyList<(IBatchOperator Operator, int Workers)> operators, IReadOnlyList<IBatchSink> sinks, PipelineOptions options) =>
        new(source, operators, sinks, options);

    private static IEnumerable<IBatchOperator> CreateWorkers(IBatchOperator op, int workers)
    {
        if (workers <= 1) yield break;
        if (op is not IParallelOperator parallel)
            throw new PipelineException($"operator '{op.Name}' cannot run as {workers} workers: it does not implement IParallelOperator (it would need one instance per thread)");
        for (var w = 1; w < workers; w++) yield return parallel.CreateWorker();
    }

    /// <summary>Workers per operator stage, in stage order (1 for an ordinary stage).</summary>
    public IReadOnlyList<int> StageWorkers => _workers.Select(w => w.Length).ToArray();

    /// <summary>Pipeline name.</summary>
    public string Name => _options.Name;

    /// <summary>Schema of the batches in the ring: the source's columns plus every operator's.</summary>
    public Schema Schema { get; }

    /// <summary>Counters of the source, each operator and each sink, in that order.</summary>
    public IReadOnlyList<StageCounters> Stages { get; }

    /// <summary>Where rejected rows went.</summary>
    public IDeadLetterSink DeadLetters { get; }

    /// <summary>Highest batch sequence whose source positions were committed.</summary>
    public long CommittedSequence => _checkpoints.Committed;

    /// <summary>Batches in the ring that the slowest stage has not finished (never above <see cref="PipelineOptions.RingSize"/>).</summary>
    public long InFlight => _ring.Size - _ring.RemainingCapacity;

    /// <summary>Completes when the pipeline has drained and closed: after a bounded source is exhausted, after
    /// <see cref="StopAsync"/>, or faulted when a stage failed under <see cref="ErrorPolicy.Stop"/>.</summary>
    public Task Completion => _completion.Task;

    /// <summary>Opens the source and sinks and starts one thread per stage.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0) throw new PipelineException($"pipeline '{Name}' was already started");
        var opened = 0;
        var sourceOpened = false;
        try
        {
            await _source.OpenAsync(new SourceContext(Name, DeadLetters) { Counters = _sourceCounters }, cancellationToken).ConfigureAwait(false);
            sourceOpened = true;
            for (; opened < _sinks.Length; opened++)
            {
                var index = opened;
                var context = new SinkContext(Name, Schema, _source, sequence => _checkpoints.MarkDurable(index, sequence));
                await _sinks[opened].OpenAsync(context, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            // Close what did open, so a failed start leaks nothing and Completion reports why.
            for (var i = 0; i < opened; i++) await DisposeQuietlyAsync(_sinks[i]).ConfigureAwait(false);
            if (sourceOpened) await DisposeQuietlyAsync(_source).ConfigureAwait(false);
            Volatile.Write(ref _state, 3);
            _completion.TrySetException(ex);
            throw;
        }
        for (var i = 0; i < _processors.Length; i++)
        {
            var processor = _processors[i];
            var thread = new Thread(() => RunProcessor(processor)) { IsBackground = true, Name = $"{Name}/{Stages[i + 1].Name}" };
            _threads.Add(thread);
            thread.Start();
        }
        _producer = new Thread(ProduceLoop) { IsBackground = true, Name = $"{Name}/{_source.Name}" };
        _producer.Start();
    }

    /// <summary>Starts the pipeline and waits for it to complete; cancelling stops it with a drain.</summary>
    public async Task RunAsync(CancellationToken cancellationToken = default)
    {
        await StartAsync(cancellationToken).ConfigureAwait(false);
        using (cancellationToken.Register(() => _stopSource.Cancel()))
            await Completion.ConfigureAwait(false);
    }

    /// <summary>Stops reading the source, lets every batch already in the ring reach the sinks, completes the operators
    /// (emitting open windows), flushes the sinks and commits the last positions.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (Volatile.Read(ref _state) == 0) return;
        _stopSource.Cancel();
        await Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task DisposeQuietlyAsync(IAsyncDisposable disposable)
    {
        try { await disposable.DisposeAsync().ConfigureAwait(false); }
        catch (Exception) { /* the open failure is the error worth reporting */ }
    }

    private void RunProcessor(IEventProcessor processor)
    {
        processor.Run();
        if (processor.Fault is { } fault) Fail(fault);
    }

    private void Fail(Exception fault)
    {
        RecordFault(fault);
        _stopSource.Cancel();
    }

    private void RecordFault(Exception fault) => Interlocked.CompareExchange(ref _fault, fault, null);

    private void ProduceLoop()
    {
        var token = _stopSource.Token;
        var more = true;
        try
        {
            while (more && !token.IsCancellationRequested)
            {
                var sequence = ClaimSlot(token);
                if (sequence < 0) break;
                var batch = _ring[sequence];
                while (true)
                {
                    batch.Reset();
                    var start = Stopwatch.GetTimestamp();
                    var idleBefore = Interlocked.Read(ref _sourceCounters._idleTicks);
                    var fill = _source.FillAsync(batch, token);
                    more = fill.IsCompletedSuccessfully ? fill.Result : fill.AsTask().GetAwaiter().GetResult();
                    // Busy is the fill's work: the time the source reported waiting for input is idle, not busy.
                    _sourceCounters._busyTicks += Stopwatch.GetTimestamp() - start - (Interlocked.Read(ref _sourceCounters._idleTicks) - idleBefore);
                    if (batch.Length > 0 || !more || batch.Watermark != ColumnBatch.NoWatermark || token.IsCancellationRequested) break;
                }
                _sourceCounters._rowsOut += batch.Length;
                _sourceCounters._batches++;
                _checkpoints.Record(sequence, batch.Positions);
                _ring.Publish(sequence);
                Volatile.Write(ref _lastPublished, sequence);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Stopping: the batch being filled was not published, so its positions are not committed and a restart re-reads it.
        }
        catch (Exception ex)
        {
            Fail(new PipelineException($"source '{_source.Name}' failed: {ex.Message}", ex));
        }
        _ = Task.Run(DrainAndCloseAsync);
    }

    private long ClaimSlot(CancellationToken token)
    {
        long sequence;
        var wait = _ring.WaitStrategy as BlockingWaitStrategy;
        var spinner = new SpinWait();
        var start = 0L;
        while (!_ring.TryNext(out sequence))
        {
            if (start == 0) start = Stopwatch.GetTimestamp();
            if (token.IsCancellationRequested) return -1;
            if (wait is not null) wait.WaitForSignal(TimeSpan.FromMilliseconds(10));
            else spinner.SpinOnce(sleep1Threshold: -1);
        }
        if (start != 0) _sourceCounters._waitTicks += Stopwatch.GetTimestamp() - start;
        return sequence;
    }

    private async Task DrainAndCloseAsync()
    {
        try
        {
            var last = Volatile.Read(ref _lastPublished);
            // Orderly drain: every stage finishes every published batch before it is halted.
            var spinner = new SpinWait();
            while (Volatile.Read(ref _fault) is null && _processors.Any(p => p.Sequence.Value < last && p.IsRunning))
                spinner.SpinOnce(sleep1Threshold: 1);
            foreach (var processor in _processors) processor.Halt();
            foreach (var thread in _threads) thread.Join();

            if (Volatile.Read(ref _fault) is null)
            {
                var context = 0;
                foreach (var workers in _workers)
                    foreach (var worker in workers) worker.Complete(_operatorContexts[context++]);
                foreach (var sink in _sinks) sink.Flush();
            }
        }
        catch (Exception ex)
        {
            RecordFault(ex);
        }
        // Sinks close before the last commit: closing publishes what buffering sinks still hold (a Parquet file's
        // footer), and positions may only be committed once that succeeded.
        var sinksClosed = true;
        foreach (var sink in _sinks)
        {
            try { await sink.DisposeAsync().ConfigureAwait(false); }
            catch (Exception ex)
            {
                sinksClosed = false;
                RecordFault(ex);
            }
        }
        try
        {
            if (sinksClosed && Volatile.Read(ref _fault) is null)
            {
                var last = Volatile.Read(ref _lastPublished);
                if (_sinks.Length == 0) _checkpoints.CommitWithoutSinks(last);
                else for (var i = 0; i < _sinks.Length; i++) _checkpoints.MarkDurable(i, last);
            }
            await _source.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            RecordFault(ex);
        }
        Volatile.Write(ref _state, 3);
        if (Volatile.Read(ref _fault) is { } fault) _completion.TrySetException(fault);
        else _completion.TrySetResult();
    }

    /// <summary>Stops the pipeline (if running) and frees the ring's batches.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        if (Volatile.Read(ref _state) is 1 or 2)
        {
            _stopSource.Cancel();
            try { await Completion.ConfigureAwait(false); }
            catch (Exception) { /* the fault was reported through Completion */ }
        }
        foreach (var batch in _ring.Entries) _pool.Return(batch);
        _pool.AssertNoLeaks();
        _pool.Dispose();
        _stopSource.Dispose();
    }

    // Handlers are structs so each BatchEventProcessor<ColumnBatch, THandler> is specialised and the call is direct.
    private readonly struct OperatorHandler(IBatchOperator op, StageContext context, StageCounters counters, ErrorPolicy policy, int worker, int workers)
        : IEventHandler<ColumnBatch>
    {
        public void OnEvent(ColumnBatch batch, long sequence, bool endOfBatch)
        {
            if (workers > 1 && sequence % workers != worker) return;
            counters._batches++;
            if (batch.Failed) return;
            var start = Stopwatch.GetTimestamp();
            var rowsIn = batch.Selection.Count;
            counters._rowsIn += rowsIn;
            var rejectedBefore = context.RowsRejected;
            try
            {
                op.Process(batch, context);
            }
            catch (Exception ex) when (policy == ErrorPolicy.DeadLetterBatch)
            {
                // Operators own the batch while they run (stages are sequential, and a parallel stage's workers take
                // different batches), so marking it is safe here.
                counters._errors++;
                for (var row = 0; row < batch.Length; row++)
                    if (batch.Selection.IsSelected(row))
                        context.Reject(batch, row, "stage-error", $"operator '{op.Name}' threw {ex.GetType().Name}: {ex.Message}");
                batch.Failed = true;
            }
            counters._rowsRejected += context.RowsRejected - rejectedBefore;
            counters._rowsOut += batch.Failed ? 0 : batch.Selection.Count;
            counters._busyTicks += Stopwatch.GetTimestamp() - start;
        }
    }

    /// <summary>Runs one sink. Sinks share each batch with their siblings, so a sink stage never changes it. A failing
    /// write is retried <see cref="SinkRetries"/> times with growing pauses (a sink failure is an outage, not bad data);
    /// then the pipeline stops with the error, and the batch's positions are never committed.</summary>
    private struct SinkHandler(IBatchSink sink, int index, StageCounters counters, CheckpointTracker checkpoints, PipelineOptions options)
        : IEventHandler<ColumnBatch>
    {
        private long _lastFlush = Stopwatch.GetTimestamp();

        public void OnEvent(ColumnBatch batch, long sequence, bool endOfBatch)
        {
            counters._batches++;
            var start = Stopwatch.GetTimestamp();
            if (!batch.Failed)
            {
                var rows = batch.Selection.Count;
                counters._rowsIn += rows;
                WriteWithRetries(batch, sequence);
                counters._rowsOut += rows;
            }
            // A failed batch's rows are in the dead-letter sink: nothing is left for this sink to make durable. A buffering
            // sink covers it when it next reports a later batch durable, or at the drain.
            if (sink.DurableOnWrite) checkpoints.MarkDurable(index, sequence);
            if (Stopwatch.GetElapsedTime(_lastFlush) >= options.FlushInterval) Flush();
            counters._busyTicks += Stopwatch.GetTimestamp() - start;
        }

        public void OnTimeout(long sequence)
        {
            if (Stopwatch.GetElapsedTime(_lastFlush) >= options.FlushInterval) Flush();
        }

        private readonly void WriteWithRetries(ColumnBatch batch, long sequence)
        {
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    sink.Write(batch, sequence);
                    return;
                }
                catch (Exception) when (attempt < SinkRetries && options.ErrorPolicy == ErrorPolicy.DeadLetterBatch)
                {
                    counters._errors++;
                    Thread.Sleep(TimeSpan.FromMilliseconds(100 << (2 * attempt)));
                }
                catch (Exception ex)
                {
                    throw new PipelineException($"sink '{sink.Name}' failed on batch {sequence} after {attempt + 1} attempt(s): {ex.Message}", ex);
                }
            }
        }

        private void Flush()
        {
            _lastFlush = Stopwatch.GetTimestamp();
            if (sink.DurableOnWrite) return;
            // A buffering sink reports through SinkContext.MarkDurable what its flush made durable: a Parquet sink that
            // keeps a file open until it rolls has made nothing durable yet, and its positions must wait.
            sink.Flush();
        }
    }

    /// <summary>Times a failing sink write is retried (after 100 ms, 400 ms, 1.6 s) before the pipeline stops.</summary>
    internal const int SinkRetries = 3;
}

/// <summary>Builds a <see cref="Pipeline"/>: <c>Pipeline.From(source).Then(op).Then(op2).To(sink1, sink2).Build()</c>.</summary>
public sealed class PipelineBuilder
{
    private readonly IBatchSource _source;
    private readonly PipelineOptions _options;
    private readonly List<(IBatchOperator Operator, int Workers)> _operators = [];
    private readonly List<IBatchSink> _sinks = [];

    internal PipelineBuilder(IBatchSource source, PipelineOptions options)
    {
        _source = source;
        _options = options;
    }

    /// <summary>Adds an operator stage after the previous one: one thread, or <see cref="IParallelOperator.Workers"/>
    /// threads for an operator that asks for more.</summary>
    public PipelineBuilder Then(IBatchOperator op) => Then(op, op is IParallelOperator parallel ? parallel.Workers : 1);

    /// <summary>Adds an operator stage that runs as <paramref name="workers"/> threads, each taking every
    /// <paramref name="workers"/>-th batch; batches leave the stage in their original order. More than one worker needs
    /// an <see cref="IParallelOperator"/> (it makes the other instances).</summary>
    public PipelineBuilder Then(IBatchOperator op, int workers)
    {
        if (workers < 1) throw new PipelineException($"operator '{op.Name}': workers must be at least 1, got {workers}");
        if (workers > 1 && op is not IParallelOperator)
            throw new PipelineException($"operator '{op.Name}' cannot run as {workers} workers: it does not implement IParallelOperator (it would need one instance per thread)");
        _operators.Add((op, workers));
        return this;
    }

    /// <summary>Adds sinks that each see every batch, in parallel.</summary>
    public PipelineBuilder To(params IBatchSink[] sinks)
    {
        _sinks.AddRange(sinks);
        return this;
    }

    /// <summary>Binds schemas and allocates the ring. Throws a <see cref="SchemaMismatchException"/> when an operator
    /// needs a column nobody produces.</summary>
    public Pipeline Build()
    {
        if ((_options.RingSize & (_options.RingSize - 1)) != 0 || _options.RingSize < 1)
            throw new PipelineException($"RingSize must be a power of two, got {_options.RingSize}");
        return Pipeline.Create(_source, _operators, _sinks, _options);
    }
}

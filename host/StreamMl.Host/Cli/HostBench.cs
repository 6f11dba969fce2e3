using System.Diagnostics;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using Google.Protobuf;
using Grpc.Net.Client;
using HdrHistogram;
using StreamMl.Host.Protos;

namespace StreamMl.Host.Cli;

/// <summary>Payloads and measurements shared by <c>streamml bench</c> and the BenchmarkDotNet benchmarks: ingest of
/// pre-encoded Arrow IPC or protobuf messages, and unary Score at a fixed request rate.</summary>
internal static class HostBench
{
    public const string PipelineName = "bench";

    public static readonly string[] Features = ["temperature", "vibration", "pressure", "humidity"];

    /// <summary>A pipeline fed by Ingest that scores with an inline linear model and counts rows in memory.</summary>
    public const string Spec = """
        name: bench
        source:
          kind: grpc
          columns: { temperature: float32, vibration: float32, pressure: float32, humidity: float32 }
          queue_batches: 32
        model:
          kind: linear
          name: bench-linear
          weights: { temperature: 0.05, vibration: 1.5, pressure: -0.01, humidity: 0.002 }
          bias: -4
        sinks:
          - kind: memory
            keep_rows: 0
        """;

    public static float[][] Columns(int rows, int seed = 7)
    {
        var random = new Random(seed);
        var columns = new float[Features.Length][];
        for (var c = 0; c < columns.Length; c++)
        {
            columns[c] = new float[rows];
            for (var r = 0; r < rows; r++) columns[c][r] = (float)(random.NextDouble() * 100);
        }
        return columns;
    }

    /// <summary>One Arrow IPC stream (schema + one record batch) of <paramref name="rows"/> rows.</summary>
    public static byte[] ArrowPayload(int rows, int seed = 7)
    {
        var data = Columns(rows, seed);
        var builder = new RecordBatch.Builder();
        for (var c = 0; c < Features.Length; c++)
        {
            var column = data[c];
            builder.Append(Features[c], false, b => b.Float(f => f.AppendRange(column)));
        }
        using var batch = builder.Build();
        using var stream = new MemoryStream();
        using (var writer = new ArrowStreamWriter(stream, batch.Schema, leaveOpen: true))
        {
            writer.WriteRecordBatch(batch);
            writer.WriteEnd();
        }
        return stream.ToArray();
    }

    public static RowSet ProtobufRows(int rows, int seed = 7)
    {
        var data = Columns(rows, seed);
        var set = new RowSet();
        set.Columns.AddRange(Features);
        for (var r = 0; r < rows; r++)
        {
            var row = new Row();
            for (var c = 0; c < Features.Length; c++) row.Values.Add(new Value { Number = data[c][r] });
            set.Rows.Add(row);
        }
        return set;
    }

    /// <summary>Sends <paramref name="messages"/> copies of <paramref name="request"/> on one Ingest stream and
    /// returns the rows the host accepted.</summary>
    public static async Task<long> IngestAsync(GrpcChannel channel, IngestRequest request, int messages, CancellationToken cancellationToken = default)
    {
        var client = new DataPlane.DataPlaneClient(channel);
        using var call = client.Ingest(cancellationToken: cancellationToken);
        for (var i = 0; i < messages; i++) await call.RequestStream.WriteAsync(request, cancellationToken).ConfigureAwait(false);
        await call.RequestStream.CompleteAsync().ConfigureAwait(false);
        return (await call.ResponseAsync.ConfigureAwait(false)).RowsAccepted;
    }

    /// <summary>Waits until the pipeline's memory sink has seen <paramref name="rows"/> rows.</summary>
    public static async Task WaitForRowsAsync(Func<long> written, long rows, TimeSpan timeout)
    {
        var start = Stopwatch.GetTimestamp();
        while (written() < rows)
        {
            if (Stopwatch.GetElapsedTime(start) > timeout) throw new TimeoutException($"only {written()} of {rows} rows arrived within {timeout}");
            await Task.Delay(1).ConfigureAwait(false);
        }
    }

    /// <summary>Calls Score with one row at <paramref name="rate"/> requests per second for <paramref name="requests"/>
    /// requests, open loop: each call starts at its scheduled time whether or not earlier calls have answered, and its
    /// latency is measured from that scheduled time (so a stall counts against every request it delays, and a late
    /// start counts against the request, never hiding as coordinated omission). A dedicated thread sleeps between
    /// calls (<see cref="PreciseClock"/>)
    /// instead of spinning, so the client does not take a core from the server on a 2-core machine. The first
    /// <paramref name="warmup"/> runs at the same rate and is not recorded: it lets the JIT tier up the whole path, the
    /// thread pool settle and the connection open. When given, <paramref name="sendLateness"/> records how late each call left the client (its own scheduling delay), which
    /// separates the client's share of the tail from the round trip's.</summary>
    public static LongHistogram ScoreAtRate(GrpcChannel channel, int rate, int requests, TimeSpan warmup, LongHistogram? sendLateness = null)
    {
        var client = new DataPlane.DataPlaneClient(channel);
        var request = new ScoreRequest { Pipeline = PipelineName, Rows = ProtobufRows(1) };
        client.Score(request); // opens the connection
        return AtRate(() => client.ScoreAsync(request).ResponseAsync, rate, requests, warmup, sendLateness);
    }

    /// <summary>Like <see cref="ScoreAtRate"/>, for any call (the Open Inference Protocol's ModelInfer).</summary>
    public static LongHistogram AtRate(Func<Task> call, int rate, int requests, TimeSpan warmup, LongHistogram? sendLateness = null) =>
        AtRate([call], rate, requests, warmup, sendLateness)[0];

    /// <summary>Like <see cref="ScoreAtRate"/>, taking turns between <paramref name="calls"/>: slot i of the schedule
    /// (at <paramref name="rate"/> slots per second in all) starts <c>calls[i % calls.Length]</c>, and each call has its own
    /// histogram. Interleaved this way, every kind of call sees the same moments of a noisy machine, so their ratio
    /// holds even when the absolute figures swing from round to round.</summary>
    public static LongHistogram[] AtRate(Func<Task>[] calls, int rate, int requests, TimeSpan warmup, LongHistogram? sendLateness = null)
    {
        var warmupRequests = (int)(warmup.TotalSeconds * rate);
        var histograms = calls.Select(_ => new LongHistogram(10_000_000, 3)).ToArray();
        // Calls in flight are counted, not kept: a list of 12,000 tasks lived long enough to be promoted and made the
        // client's own gen1/gen2 collections part of the measured tail.
        var outstanding = 1;
        var allAnswered = new ManualResetEventSlim();
        var failures = 0;
        var interval = Stopwatch.Frequency / (double)rate;
        var total = warmupRequests + requests;
        var sender = new Thread(() =>
        {
            var start = Stopwatch.GetTimestamp();
            for (var i = 0; i < total; i++)
            {
                var scheduled = start + (long)(i * interval);
                PreciseClock.SleepUntil(scheduled);
                var record = i >= warmupRequests;
                if (record && sendLateness is not null)
                    sendLateness.RecordValue(Math.Min(sendLateness.HighestTrackableValue, (Stopwatch.GetTimestamp() - scheduled) * 1_000_000 / Stopwatch.Frequency));
                Interlocked.Increment(ref outstanding);
                var histogram = histograms[i % calls.Length];
                calls[i % calls.Length]().ContinueWith(answered =>
                {
                    var micros = Math.Max(0, (Stopwatch.GetTimestamp() - scheduled) * 1_000_000 / Stopwatch.Frequency);
                    if (answered.IsFaulted) Interlocked.Increment(ref failures);
                    else if (record) lock (histogram) histogram.RecordValue(Math.Min(micros, histogram.HighestTrackableValue));
                    if (Interlocked.Decrement(ref outstanding) == 0) allAnswered.Set();
                }, TaskContinuationOptions.ExecuteSynchronously);
            }
            if (Interlocked.Decrement(ref outstanding) == 0) allAnswered.Set();
        }) { IsBackground = true, Name = "score-scheduler" };
        sender.Start();
        sender.Join();
        allAnswered.Wait();
        if (failures > 0) throw new InvalidOperationException($"{failures} of {total} calls failed");
        return histograms;
    }

    /// <summary>The scheduler <see cref="ScoreAtRate"/> replaced, kept for comparison in the same run: one call at a
    /// time (closed loop, latency still from the scheduled start) and a wait that spins for the last millisecond,
    /// which keeps one core busy.</summary>
    public static LongHistogram ScoreAtRateSpinning(GrpcChannel channel, int rate, int requests, TimeSpan warmup)
    {
        var client = new DataPlane.DataPlaneClient(channel);
        var request = new ScoreRequest { Pipeline = PipelineName, Rows = ProtobufRows(1) };
        var warmupRequests = (int)(warmup.TotalSeconds * rate);
        var histogram = new LongHistogram(10_000_000, 3);
        var interval = Stopwatch.Frequency / (double)rate;
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < warmupRequests + requests; i++)
        {
            var scheduled = start + (long)(i * interval);
            while (Stopwatch.GetTimestamp() < scheduled)
            {
                if (scheduled - Stopwatch.GetTimestamp() > Stopwatch.Frequency / 1000) Thread.Sleep(0);
                else Thread.SpinWait(20);
            }
            client.Score(request);
            if (i >= warmupRequests)
                histogram.RecordValue(Math.Min(histogram.HighestTrackableValue, Math.Max(0, (Stopwatch.GetTimestamp() - scheduled) * 1_000_000 / Stopwatch.Frequency)));
        }
        return histogram;
    }

    public static IngestRequest ArrowRequest(byte[] payload) => new() { Pipeline = PipelineName, ArrowIpc = ByteString.CopyFrom(payload) };

    public static IngestRequest RowsRequest(RowSet rows) => new() { Pipeline = PipelineName, Rows = rows };
}

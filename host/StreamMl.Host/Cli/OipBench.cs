using System.Diagnostics;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Grpc.Net.Client;
using HdrHistogram;
using Microsoft.Extensions.DependencyInjection;
using StreamMl.Host.Grpc.Inference.Protocol;
using StreamMl.Host.Hosting;
using StreamMl.Host.Pipelines;
using StreamMl.Host.Protos;

namespace StreamMl.Host.Cli;

/// <summary><c>streamml bench --oip</c>: the Open Inference Protocol next to the native API on one in-process host and
/// the bench pipeline. Latency: unary Score and ModelInfer of one row at the same open-loop rate, alternating in each
/// round so both see the same machine. Throughput: rows/s of native Ingest (Arrow IPC), of Score with Arrow IPC and of
/// ModelInfer with raw FP32 tensors, <c>batch</c> rows per call, one call at a time.</summary>
internal static class OipBench
{
    internal sealed record Result(List<LongHistogram> Score, List<LongHistogram> Infer, List<LongHistogram> SendLateness, double IngestArrowRowsPerSecond,
        double ScoreArrowRowsPerSecond, double InferRawRowsPerSecond)
    {
        /// <summary>ServerLive, interleaved with Score and ModelInfer: the same client, connection, HTTP/2 and gRPC
        /// path with no work behind it, the transport's own latency on this machine in the same moments.</summary>
        public required List<LongHistogram> Live { get; init; }

        /// <summary>The host's own time per call in its Score chain (Score and ModelInfer together), from
        /// Query.GetMetrics; null in process.</summary>
        public LatencyPercentiles? HostScoreChain { get; init; }
    }

    /// <summary>A ModelInfer request for the bench pipeline: <paramref name="rows"/> rows, one raw FP32 tensor per feature.</summary>
    public static ModelInferRequest InferRequest(int rows)
    {
        var request = new ModelInferRequest { ModelName = HostBench.PipelineName };
        var columns = HostBench.Columns(rows);
        for (var f = 0; f < HostBench.Features.Length; f++)
        {
            request.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = HostBench.Features[f], Datatype = "FP32", Shape = { rows } });
            request.RawInputContents.Add(ByteString.CopyFrom(MemoryMarshal.AsBytes(columns[f].AsSpan())));
        }
        return request;
    }

    /// <summary>Against a host in another process (<c>streamml serve</c>), so client and server share no garbage
    /// collector or thread pool: the bench pipeline is created there through Control.CreatePipeline, then each round
    /// interleaves one-row Score and ModelInfer calls at <paramref name="rate"/> calls per second in all, open loop.
    /// Throughput: rows/s of Score (Arrow IPC) and ModelInfer (raw FP32), <paramref name="batch"/> rows per call.</summary>
    public static async Task<Result> RunRemoteAsync(string address, int rate, int seconds, int rounds, int batch, CancellationToken cancellationToken)
    {
        using var channel = HostClient.Open(address, Environment.GetEnvironmentVariable("STREAMML_API_KEY"));
        await new Control.ControlClient(channel).CreatePipelineAsync(new CreatePipelineRequest { Spec = HostBench.Spec, Start = true, Replace = true },
            cancellationToken: cancellationToken);
        var (score, infer, live, lateness) = MeasureLatency(channel, rate, seconds, rounds);
        var metrics = await new Query.QueryClient(channel).GetMetricsAsync(new MetricsRequest { Pipeline = HostBench.PipelineName },
            cancellationToken: cancellationToken);
        var (scoreRate, inferRate) = await MeasureCallsAsync(channel, batch, Math.Max(1, 200_000 / batch), cancellationToken);
        return new Result(score, infer, lateness, 0, scoreRate, inferRate) { HostScoreChain = metrics.ScoreLatency, Live = live };
    }

    /// <summary>Rounds of one-row Score and ModelInfer and of ServerLive (the transport floor), open loop,
    /// <paramref name="rate"/> calls per second in all, interleaved call by call (Score, ModelInfer, ServerLive, Score,
    /// ...), so all three see the same moments of the machine; and the client's own lateness in starting its calls, per
    /// round.</summary>
    private static (List<LongHistogram> Score, List<LongHistogram> Infer, List<LongHistogram> Live, List<LongHistogram> Lateness) MeasureLatency(
        GrpcChannel channel, int rate, int seconds, int rounds)
    {
        var inference = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        var dataPlane = new DataPlane.DataPlaneClient(channel);
        var one = InferRequest(1);
        var row = new ScoreRequest { Pipeline = HostBench.PipelineName, Rows = HostBench.ProtobufRows(1) };
        inference.ModelInfer(one); // opens the connection
        dataPlane.Score(row);
        var liveRequest = new ServerLiveRequest();
        inference.ServerLive(liveRequest);
        Func<Task>[] calls =
        [
            () => dataPlane.ScoreAsync(row).ResponseAsync,
            () => inference.ModelInferAsync(one).ResponseAsync,
            () => inference.ServerLiveAsync(liveRequest).ResponseAsync,
        ];
        var (score, infer, live, lateness) = (new List<LongHistogram>(), new List<LongHistogram>(), new List<LongHistogram>(), new List<LongHistogram>());
        for (var round = 0; round < Math.Max(1, rounds); round++)
        {
            var late = new LongHistogram(10_000_000, 3);
            // A freshly started host spends its first seconds compiling its hot paths to optimised code: the first
            // round warms up longer.
            var warmup = TimeSpan.FromSeconds(round == 0 ? 5 : 2);
            var measured = HostBench.AtRate(calls, rate, rate * seconds, warmup, late);
            score.Add(measured[0]);
            infer.Add(measured[1]);
            live.Add(measured[2]);
            lateness.Add(late);
        }
        return (score, infer, live, lateness);
    }

    /// <summary>Rows/s of Score (Arrow IPC) and ModelInfer (raw FP32 tensors), <paramref name="batch"/> rows per call,
    /// one call at a time.</summary>
    private static async Task<(double Score, double Infer)> MeasureCallsAsync(GrpcChannel channel, int batch, int calls, CancellationToken cancellationToken)
    {
        var inference = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        var dataPlane = new DataPlane.DataPlaneClient(channel);
        async Task<double> Calls(Func<Task> call)
        {
            await call(); // warm-up
            var start = Stopwatch.GetTimestamp();
            for (var i = 0; i < calls; i++) await call();
            return calls * (double)batch / Stopwatch.GetElapsedTime(start).TotalSeconds;
        }
        var scoreRequest = new ScoreRequest { Pipeline = HostBench.PipelineName, ArrowIpc = ByteString.CopyFrom(HostBench.ArrowPayload(batch)) };
        var scoreRate = await Calls(() => dataPlane.ScoreAsync(scoreRequest, cancellationToken: cancellationToken).ResponseAsync);
        var inferBatch = InferRequest(batch);
        var inferRate = await Calls(() => inference.ModelInferAsync(inferBatch, cancellationToken: cancellationToken).ResponseAsync);
        return (scoreRate, inferRate);
    }

    public static async Task<Result> RunAsync(int rate, int seconds, int rounds, int batch, int rows, CancellationToken cancellationToken)
    {
        await using var server = await StreamMlServer.StartAsync(new StreamMlOptions { Port = 0, MetricsPort = -1 }, cancellationToken: cancellationToken);
        var pipeline = await server.Services.GetRequiredService<PipelineManager>().CreateAsync(HostBench.Spec, start: true, replace: false, null, cancellationToken);
        using var channel = HostClient.Open(server.Address, null);
        var (score, infer, live, lateness) = MeasureLatency(channel, rate, seconds, rounds);

        var calls = Math.Max(1, rows / batch);
        var ingest = HostBench.ArrowRequest(HostBench.ArrowPayload(batch));
        async Task<double> Ingest()
        {
            var before = pipeline.Runtime.Memory!.Rows;
            var start = Stopwatch.GetTimestamp();
            var accepted = await HostBench.IngestAsync(channel, ingest, calls, cancellationToken);
            await HostBench.WaitForRowsAsync(() => pipeline.Runtime.Memory!.Rows - before, accepted, TimeSpan.FromMinutes(2));
            return accepted / Stopwatch.GetElapsedTime(start).TotalSeconds;
        }
        await Ingest(); // warm-up
        var ingestRate = await Ingest();
        var (scoreRate, inferRate) = await MeasureCallsAsync(channel, batch, calls, cancellationToken);
        return new Result(score, infer, lateness, ingestRate, scoreRate, inferRate) { Live = live };
    }
}

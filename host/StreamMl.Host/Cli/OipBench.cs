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
    internal sealed record Result(List<LongHistogram> Score, List<LongHistogram> Infer, double IngestArrowRowsPerSecond,
        double ScoreArrowRowsPerSecond, double InferRawRowsPerSecond);

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

    public static async Task<Result> RunAsync(int rate, int seconds, int rounds, int batch, int rows, CancellationToken cancellationToken)
    {
        await using var server = await StreamMlServer.StartAsync(new StreamMlOptions { Port = 0, MetricsPort = -1 }, cancellationToken: cancellationToken);
        var pipeline = await server.Services.GetRequiredService<PipelineManager>().CreateAsync(HostBench.Spec, start: true, replace: false, null, cancellationToken);
        using var channel = HostClient.Open(server.Address, null);
        var inference = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        var dataPlane = new DataPlane.DataPlaneClient(channel);

        var one = InferRequest(1);
        inference.ModelInfer(one);
        var score = new List<LongHistogram>();
        var infer = new List<LongHistogram>();
        var warmup = TimeSpan.FromSeconds(2);
        for (var round = 0; round < Math.Max(1, rounds); round++)
        {
            score.Add(HostBench.ScoreAtRate(channel, rate, rate * seconds, warmup));
            infer.Add(HostBench.AtRate(() => inference.ModelInferAsync(one).ResponseAsync, rate, rate * seconds, warmup));
        }

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
        async Task<double> Calls(Func<Task> call)
        {
            await call(); // warm-up
            var start = Stopwatch.GetTimestamp();
            for (var i = 0; i < calls; i++) await call();
            return calls * (double)batch / Stopwatch.GetElapsedTime(start).TotalSeconds;
        }
        await Ingest(); // warm-up
        var ingestRate = await Ingest();
        var scoreRequest = new ScoreRequest { Pipeline = HostBench.PipelineName, ArrowIpc = ByteString.CopyFrom(HostBench.ArrowPayload(batch)) };
        var scoreRate = await Calls(() => dataPlane.ScoreAsync(scoreRequest, cancellationToken: cancellationToken).ResponseAsync);
        var inferBatch = InferRequest(batch);
        var inferRate = await Calls(() => inference.ModelInferAsync(inferBatch, cancellationToken: cancellationToken).ResponseAsync);
        return new Result(score, infer, ingestRate, scoreRate, inferRate);
    }
}

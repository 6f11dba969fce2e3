using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using StreamMl.Host.Cli;
using StreamMl.Host.Hosting;
using StreamMl.Host.Pipelines;
using StreamMl.Host.Protos;

namespace StreamMl.Benchmarks.Host;

/// <summary>gRPC ingest over loopback into a running pipeline (grpc source, linear model, memory sink): Arrow IPC
/// batches against protobuf rows, 4,096 rows per message. One operation = one row, so the mean is ns/row and
/// rows/s = 1e9 / mean. The payloads are encoded once in setup: this measures the host, not the client's encoder.</summary>
[MemoryDiagnoser]
[BenchmarkDotNet.Attributes.Config(typeof(HostBenchmarkConfig))]
public class HostIngestBenchmarks
{
    private const int RowsPerMessage = 4096;
    private const int Messages = 64;

    [Params("protobuf", "arrow")]
    public string Format { get; set; } = "arrow";

    private StreamMlServer _server = null!;
    private GrpcChannel _channel = null!;
    private ManagedPipeline _pipeline = null!;
    private IngestRequest _request = null!;

    [GlobalSetup]
    public async Task Setup()
    {
        _server = await StreamMlServer.StartAsync(new StreamMlOptions { Port = 0, MetricsPort = -1 });
        var manager = _server.Services.GetRequiredService<PipelineManager>();
        _pipeline = await manager.CreateAsync(HostBench.Spec, start: true, replace: false, null, CancellationToken.None);
        _channel = HostClient.Open(_server.Address, null);
        _request = Format == "arrow"
            ? HostBench.ArrowRequest(HostBench.ArrowPayload(RowsPerMessage))
            : HostBench.RowsRequest(HostBench.ProtobufRows(RowsPerMessage));
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        _channel.Dispose();
        await _server.DisposeAsync();
    }

    /// <summary>Streams the messages and waits until the pipeline's sink has every row.</summary>
    [Benchmark(OperationsPerInvoke = RowsPerMessage * Messages)]
    public async Task<long> Ingest()
    {
        var before = _pipeline.Runtime.Memory!.Rows;
        var accepted = await HostBench.IngestAsync(_channel, _request, Messages);
        await HostBench.WaitForRowsAsync(() => _pipeline.Runtime.Memory!.Rows - before, accepted, TimeSpan.FromMinutes(1));
        return accepted;
    }
}

/// <summary>Unary Score of one row over loopback (protobuf rows) and ScoreStream round trips on one stream: the
/// latency a client sees per request, with its percentiles.</summary>
[MemoryDiagnoser]
[BenchmarkDotNet.Attributes.Config(typeof(HostBenchmarkConfig))]
public class HostScoreBenchmarks
{
    private StreamMlServer _server = null!;
    private GrpcChannel _channel = null!;
    private DataPlane.DataPlaneClient _client = null!;
    private ScoreRequest _request = null!;
    private Grpc.Core.AsyncDuplexStreamingCall<ScoreRequest, ScoreResponse> _stream = null!;

    [GlobalSetup]
    public async Task Setup()
    {
        _server = await StreamMlServer.StartAsync(new StreamMlOptions { Port = 0, MetricsPort = -1 });
        await _server.Services.GetRequiredService<PipelineManager>().CreateAsync(HostBench.Spec, start: false, replace: false, null, CancellationToken.None);
        _channel = HostClient.Open(_server.Address, null);
        _client = new DataPlane.DataPlaneClient(_channel);
        _request = new ScoreRequest { Pipeline = HostBench.PipelineName, Rows = HostBench.ProtobufRows(1) };
        _stream = _client.ScoreStream();
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        await _stream.RequestStream.CompleteAsync();
        _stream.Dispose();
        _channel.Dispose();
        await _server.DisposeAsync();
    }

    [Benchmark(Baseline = true)]
    public async Task<float> ScoreUnary() => (await _client.ScoreAsync(_request)).Scores[0].Score;

    [Benchmark]
    public async Task<float> ScoreStreamRoundTrip()
    {
        await _stream.RequestStream.WriteAsync(_request);
        await _stream.ResponseStream.MoveNext(CancellationToken.None);
        return _stream.ResponseStream.Current.Scores[0].Score;
    }
}

/// <summary>Latency percentiles on top of the shared configuration.</summary>
public sealed class HostBenchmarkConfig : ManualConfig
{
    /// <summary>Creates the configuration.</summary>
    public HostBenchmarkConfig() =>
        AddColumn(BenchmarkDotNet.Columns.StatisticColumn.P50, BenchmarkDotNet.Columns.StatisticColumn.P95, BenchmarkDotNet.Columns.StatisticColumn.Max);
}

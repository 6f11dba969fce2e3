using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using StreamMl.Host.Cli;
using StreamMl.Host.Grpc.Inference.Protocol;
using StreamMl.Host.Hosting;
using StreamMl.Host.Pipelines;
using StreamMl.Host.Protos;

namespace StreamMl.Benchmarks.Host;

/// <summary>The Open Inference Protocol's ModelInfer against the native Score on the same host, pipeline and model
/// (the bench pipeline), over loopback: one row per call (latency), and <see cref="Rows"/> rows per call (Score with
/// Arrow IPC, ModelInfer with raw FP32 tensors) for rows/s. Score is the baseline, so the ratio column is
/// ModelInfer's cost relative to Score in the same run.</summary>
[MemoryDiagnoser]
[BenchmarkDotNet.Attributes.Config(typeof(HostBenchmarkConfig))]
public class HostInferenceBenchmarks
{
    [Params(1, 1024)]
    public int Rows { get; set; } = 1;

    private StreamMlServer _server = null!;
    private GrpcChannel _channel = null!;
    private DataPlane.DataPlaneClient _dataPlane = null!;
    private GRPCInferenceService.GRPCInferenceServiceClient _inference = null!;
    private ScoreRequest _score = null!;
    private ModelInferRequest _typed = null!;
    private ModelInferRequest _raw = null!;

    [GlobalSetup]
    public async Task Setup()
    {
        _server = await StreamMlServer.StartAsync(new StreamMlOptions { Port = 0, MetricsPort = -1 });
        await _server.Services.GetRequiredService<PipelineManager>().CreateAsync(HostBench.Spec, start: false, replace: false, null, CancellationToken.None);
        _channel = HostClient.Open(_server.Address, null);
        _dataPlane = new DataPlane.DataPlaneClient(_channel);
        _inference = new GRPCInferenceService.GRPCInferenceServiceClient(_channel);
        _score = Rows == 1
            ? new ScoreRequest { Pipeline = HostBench.PipelineName, Rows = HostBench.ProtobufRows(1) }
            : new ScoreRequest { Pipeline = HostBench.PipelineName, ArrowIpc = ByteString.CopyFrom(HostBench.ArrowPayload(Rows)) };
        _raw = OipBench.InferRequest(Rows);
        _typed = new ModelInferRequest { ModelName = HostBench.PipelineName };
        var columns = HostBench.Columns(Rows);
        for (var f = 0; f < HostBench.Features.Length; f++)
            _typed.Inputs.Add(new ModelInferRequest.Types.InferInputTensor
            {
                Name = HostBench.Features[f], Datatype = "FP32", Shape = { Rows }, Contents = new InferTensorContents { Fp32Contents = { columns[f] } },
            });
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        _channel.Dispose();
        await _server.DisposeAsync();
    }

    /// <summary>Protobuf rows for one row, Arrow IPC for a batch.</summary>
    [Benchmark(Baseline = true)]
    public async Task<float> Score() => (await _dataPlane.ScoreAsync(_score)).Scores[0].Score;

    [Benchmark]
    public async Task<int> ModelInferTyped() => (await _inference.ModelInferAsync(_typed)).Outputs.Count;

    [Benchmark]
    public async Task<int> ModelInferRaw() => (await _inference.ModelInferAsync(_raw)).Outputs.Count;
}

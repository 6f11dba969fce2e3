using Grpc.Core;
using StreamMl.Engine;
using StreamMl.Host.Pipelines;
using StreamMl.Host.Protos;

namespace StreamMl.Host.Grpc;

/// <summary>The DataPlane service: Score, ScoreStream, Ingest, Subscribe.</summary>
[BindServiceMethod(typeof(StrictBinding), nameof(StrictBinding.BindDataPlane))]
internal sealed class DataPlaneService(PipelineManager pipelines) : DataPlane.DataPlaneBase
{
    public override Task<ScoreResponse> Score(ScoreRequest request, ServerCallContext context) =>
        Task.FromResult(pipelines.Get(request.Pipeline).Score(request));

    public override async Task ScoreStream(IAsyncStreamReader<ScoreRequest> requestStream, IServerStreamWriter<ScoreResponse> responseStream,
        ServerCallContext context)
    {
        ManagedPipeline? pipeline = null;
        while (await requestStream.MoveNext(context.CancellationToken))
        {
            var request = requestStream.Current;
            // The pipeline may be named once; later requests with an empty name reuse it.
            if (pipeline is null || (request.Pipeline.Length > 0 && request.Pipeline != pipeline.Name)) pipeline = pipelines.Get(request.Pipeline);
            await responseStream.WriteAsync(pipeline.Score(request), context.CancellationToken);
        }
    }

    public override async Task<IngestResponse> Ingest(IAsyncStreamReader<IngestRequest> requestStream, ServerCallContext context)
    {
        var response = new IngestResponse();
        GrpcIngestSource? source = null;
        string? pipelineName = null;
        while (await requestStream.MoveNext(context.CancellationToken))
        {
            var request = requestStream.Current;
            var where = $"Ingest message {response.Messages}";
            if (source is null)
            {
                if (request.Pipeline.Length == 0)
                    throw new BadInputException("the first message must name the pipeline", where);
                var pipeline = pipelines.Get(request.Pipeline);
                if (pipeline.State != PipelineState.Running)
                    throw new RpcException(new Status(StatusCode.FailedPrecondition,
                        $"pipeline '{pipeline.Name}' is {pipeline.State.ToString().ToLowerInvariant()}: start it before ingesting"));
                source = pipeline.Runtime.Ingest ?? throw new RpcException(new Status(StatusCode.FailedPrecondition,
                    $"pipeline '{pipeline.Name}' reads from a {pipeline.Spec.Source.Kind} source; Ingest needs a pipeline whose source is 'kind: grpc'"));
                pipelineName = pipeline.Name;
            }
            else if (request.Pipeline.Length > 0 && request.Pipeline != pipelineName)
            {
                // Rows go to the pipeline the stream opened with; a message meant for another one must not land there.
                throw new BadInputException(
                    $"names pipeline '{request.Pipeline}', but this stream feeds pipeline '{pipelineName}' (named by its first message); " +
                    $"one Ingest stream feeds one pipeline: open another stream for '{request.Pipeline}'. This message was not accepted; " +
                    $"the {response.RowsAccepted} row(s) of the {response.Messages} earlier message(s) were", where);
            }
            response.RowsAccepted += await source.AcceptAsync(request, where, context.CancellationToken);
            response.Messages++;
        }
        return response;
    }

    public override async Task Subscribe(SubscribeRequest request, IServerStreamWriter<PipelineEvent> responseStream, ServerCallContext context)
    {
        var pipeline = pipelines.Get(request.Pipeline);
        var unknown = request.Columns.Where(c => !pipeline.OutputSchema.Contains(c)).Distinct(StringComparer.Ordinal).ToList();
        if (unknown.Count > 0)
            throw new RpcException(new Status(StatusCode.InvalidArgument,
                $"Subscribe: pipeline '{pipeline.Name}' has no column(s) {string.Join(", ", unknown.Select(c => $"'{c}'"))}; " +
                $"its rows have: {string.Join(", ", pipeline.OutputSchema.Select(f => f.Name))}"));
        using var subscriber = pipeline.Runtime.Events.Subscribe(request.Rows, [.. request.Columns]);
        try
        {
            await foreach (var e in subscriber.Reader.ReadAllAsync(context.CancellationToken))
                await responseStream.WriteAsync(e, context.CancellationToken);
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // The client went away: that ends a subscription normally.
        }
    }
}

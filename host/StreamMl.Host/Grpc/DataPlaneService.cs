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

    /// <summary>Answers every request, in order: a request that fails gets a response with its status (the code,
    /// message and details Score would have failed with) and the stream goes on.</summary>
    public override async Task ScoreStream(IAsyncStreamReader<ScoreRequest> requestStream, IServerStreamWriter<ScoreResponse> responseStream,
        ServerCallContext context)
    {
        ManagedPipeline? pipeline = null;
        var admin = Auth.AuthInterceptor.IsAdmin(context);
        while (await requestStream.MoveNext(context.CancellationToken))
        {
            var request = requestStream.Current;
            ScoreResponse response;
            try
            {
                // The pipeline may be named once; later requests with an empty name reuse it.
                if (pipeline is null || (request.Pipeline.Length > 0 && request.Pipeline != pipeline.Name)) pipeline = pipelines.Get(request.Pipeline);
                response = pipeline.Score(request);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                response = new ScoreResponse { RequestId = request.RequestId, Status = ToRequestStatus(ErrorInterceptor.ToRpcException(ex, admin)) };
            }
            await responseStream.WriteAsync(response, context.CancellationToken);
        }
    }

    private static RequestStatus ToRequestStatus(RpcException rpc)
    {
        var status = new RequestStatus { Code = (int)rpc.StatusCode, Message = rpc.Status.Detail };
        if (rpc.Trailers.GetValueBytes("grpc-status-details-bin") is { } bytes)
            status.Details.AddRange(Google.Rpc.Status.Parser.ParseFrom(bytes).Details);
        return status;
    }

    public override async Task<IngestResponse> Ingest(IAsyncStreamReader<IngestRequest> requestStream, ServerCallContext context)
    {
        var session = new IngestSession(pipelines);
        try
        {
            while (await requestStream.MoveNext(context.CancellationToken))
                await session.AcceptAsync(requestStream.Current, context.CancellationToken);
            return session.ToResponse();
        }
        finally
        {
            session.WriteTrailers(context);
        }
    }

    /// <summary>Like Ingest, with an acknowledgement per message as soon as its rows are queued.</summary>
    public override async Task IngestAcked(IAsyncStreamReader<IngestRequest> requestStream, IServerStreamWriter<IngestAck> responseStream,
        ServerCallContext context)
    {
        var session = new IngestSession(pipelines);
        try
        {
            while (await requestStream.MoveNext(context.CancellationToken))
                await responseStream.WriteAsync(await session.AcceptAsync(requestStream.Current, context.CancellationToken), context.CancellationToken);
        }
        finally
        {
            session.WriteTrailers(context);
        }
    }

    public override Task<ModelDescription> DescribeModel(DescribeModelRequest request, ServerCallContext context) =>
        Task.FromResult(pipelines.Get(request.Pipeline).Describe(request.ModelVersion));

    public override async Task Subscribe(SubscribeRequest request, IServerStreamWriter<PipelineEvent> responseStream, ServerCallContext context)
    {
        var pipeline = pipelines.Get(request.Pipeline);
        var unknown = request.Columns.Where(c => !pipeline.OutputSchema.Contains(c)).Distinct(StringComparer.Ordinal).ToList();
        if (unknown.Count > 0)
        {
            var message = $"Subscribe: pipeline '{pipeline.Name}' has no column(s) {string.Join(", ", unknown.Select(c => $"'{c}'"))}; " +
                $"its rows have: {string.Join(", ", pipeline.OutputSchema.Select(f => f.Name))}";
            throw ErrorDetails.Build(StatusCode.InvalidArgument, message, ErrorDetails.Reasons.InvalidColumn, null,
                unknown.Select(c => ($"columns.{c}", $"pipeline '{pipeline.Name}' has no column '{c}'"))).ToRpcException();
        }
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

using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;
using StreamMl.Engine;
using StreamMl.Host.Hosting;
using StreamMl.Host.Pipelines;
using StreamMl.Host.Specs;

namespace StreamMl.Host.Grpc;

/// <summary>Turns StreamMl's exceptions into gRPC statuses with their message: bad specs and payloads become
/// INVALID_ARGUMENT, unknown pipelines NOT_FOUND, wrong states FAILED_PRECONDITION. The server keeps serving.</summary>
internal sealed class ErrorInterceptor(ILogger<ErrorInterceptor> logger) : Interceptor
{
    internal static Status ToStatus(Exception ex) => ex switch
    {
        RpcException rpc => rpc.Status,
        SpecException or BadInputException or SchemaMismatchException or ArgumentException or FormatException
            or Google.Protobuf.InvalidProtocolBufferException => new Status(StatusCode.InvalidArgument, ex.Message),
        PipelineNotFoundException => new Status(StatusCode.NotFound, ex.Message),
        StreamMlException => new Status(StatusCode.FailedPrecondition, ex.Message),
        OperationCanceledException => new Status(StatusCode.Cancelled, "the call was cancelled"),
        _ => new Status(StatusCode.Internal, $"{ex.GetType().Name}: {ex.Message}"),
    };

    private RpcException Map(Exception ex, ServerCallContext context)
    {
        var status = ToStatus(ex);
        if (ex is not RpcException) Log.CallFailed(logger, context.Method, status.StatusCode.ToString(), status.Detail);
        return ex as RpcException ?? new RpcException(status, ex.Message);
    }

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try { return await continuation(request, context).ConfigureAwait(false); }
        catch (Exception ex) when (ex is not RpcException) { throw Map(ex, context); }
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try { return await continuation(requestStream, context).ConfigureAwait(false); }
        catch (Exception ex) when (ex is not RpcException) { throw Map(ex, context); }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try { await continuation(request, responseStream, context).ConfigureAwait(false); }
        catch (Exception ex) when (ex is not RpcException) { throw Map(ex, context); }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try { await continuation(requestStream, responseStream, context).ConfigureAwait(false); }
        catch (Exception ex) when (ex is not RpcException) { throw Map(ex, context); }
    }
}

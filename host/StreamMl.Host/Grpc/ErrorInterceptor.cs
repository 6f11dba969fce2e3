using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;
using StreamMl.Engine;
using StreamMl.Host.Hosting;
using StreamMl.Host.Pipelines;
using StreamMl.Host.Specs;

namespace StreamMl.Host.Grpc;

/// <summary>Turns StreamMl's exceptions into gRPC statuses with their message: bad specs, payloads and names become
/// INVALID_ARGUMENT, unknown pipelines NOT_FOUND, wrong states FAILED_PRECONDITION, anything else INTERNAL without .NET
/// details. Details are cut to <see cref="SafeText.MaxDetail"/> characters (a longer trailer fails the call on the
/// client with RESOURCE_EXHAUSTED) and logged cut and escaped. The server keeps serving.</summary>
internal sealed class ErrorInterceptor(ILogger<ErrorInterceptor> logger) : Interceptor
{
    /// <summary>The status for <paramref name="ex"/>; <paramref name="admin"/> callers are told which pipelines exist
    /// when they name one that does not.</summary>
    internal static Status ToStatus(Exception ex, bool admin = true) => ex switch
    {
        RpcException rpc => rpc.Status,
        SpecException or BadInputException or SchemaMismatchException or ArgumentException or FormatException
            or InvalidPipelineNameException or Google.Protobuf.InvalidProtocolBufferException => new Status(StatusCode.InvalidArgument, SafeText.Detail(ex.Message)),
        MemoryBudgetException => new Status(StatusCode.ResourceExhausted, SafeText.Detail(ex.Message)),
        PipelineNotFoundException notFound => new Status(StatusCode.NotFound, SafeText.Detail(admin ? notFound.Message : notFound.WithoutNames)),
        StreamMlException => new Status(StatusCode.FailedPrecondition, SafeText.Detail(ex.Message)),
        OperationCanceledException => new Status(StatusCode.Cancelled, "the call was cancelled"),
        _ => new Status(StatusCode.Internal, "the host failed to answer this call; its log has the details"),
    };

    /// <summary>The exception to answer <paramref name="ex"/> with: its status, and structured details
    /// (<see cref="ErrorDetails"/>) for INVALID_ARGUMENT and RESOURCE_EXHAUSTED.</summary>
    internal static RpcException ToRpcException(Exception ex, bool admin = true)
    {
        var status = ToStatus(ex, admin);
        if (ex is RpcException rpc) return rpc.Trailers.Get(DetailsTrailer) is null && ErrorDetails.For(ex, status) is { } added ? Merge(added, rpc) : rpc;
        return ErrorDetails.For(ex, status) is { } details ? details.ToRpcException() : new RpcException(status, status.Detail);
    }

    private const string DetailsTrailer = "grpc-status-details-bin";

    private static RpcException Merge(Google.Rpc.Status details, RpcException rpc)
    {
        var trailers = new Metadata();
        foreach (var entry in rpc.Trailers) trailers.Add(entry);
        trailers.Add(DetailsTrailer, Google.Protobuf.MessageExtensions.ToByteArray(details));
        return new RpcException(rpc.Status, trailers, rpc.Message);
    }

    private RpcException Map(Exception ex, ServerCallContext context)
    {
        var mapped = ToRpcException(ex, Auth.AuthInterceptor.IsAdmin(context));
        var status = mapped.Status;
        if (ex is RpcException) return mapped;
        if (status.StatusCode == StatusCode.Internal) Log.CallCrashed(logger, context.Method, ex);
        else Log.CallFailed(logger, context.Method, status.StatusCode.ToString(), SafeText.ForLog(status.Detail));
        return mapped;
    }

    // An RpcException passes through unchanged, except an INVALID_ARGUMENT without details, which gets them.
    private static bool NeedsMapping(Exception ex) =>
        ex is not RpcException rpc || (rpc.StatusCode == StatusCode.InvalidArgument && rpc.Trailers.Get(DetailsTrailer) is null);

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try { return await continuation(request, context).ConfigureAwait(false); }
        catch (Exception ex) when (NeedsMapping(ex)) { throw Map(ex, context); }
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try { return await continuation(requestStream, context).ConfigureAwait(false); }
        catch (Exception ex) when (NeedsMapping(ex)) { throw Map(ex, context); }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try { await continuation(request, responseStream, context).ConfigureAwait(false); }
        catch (Exception ex) when (NeedsMapping(ex)) { throw Map(ex, context); }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try { await continuation(requestStream, responseStream, context).ConfigureAwait(false); }
        catch (Exception ex) when (NeedsMapping(ex)) { throw Map(ex, context); }
    }
}

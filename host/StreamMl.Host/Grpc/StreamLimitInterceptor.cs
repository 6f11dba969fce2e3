using System.Collections.Concurrent;
using System.Globalization;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Options;
using StreamMl.Host.Hosting;

namespace StreamMl.Host.Grpc;

/// <summary>Keeps one HTTP/2 stream of each client connection free for unary calls. Kestrel allows
/// <see cref="StreamMlOptions.MaxStreamsPerConnection"/> concurrent streams per connection; a client at the limit queues
/// further calls without telling anyone, so with 100 Subscribe streams open a Score on the same connection used to wait
/// until its deadline. Streaming calls (which may last for hours) may take all streams but one: the next is refused at
/// once with RESOURCE_EXHAUSTED naming the limit and the setting that raises it. A singleton: it counts per connection id.</summary>
internal sealed class StreamLimitInterceptor(IOptions<StreamMlOptions> options) : Interceptor
{
    private readonly ConcurrentDictionary<string, OpenCalls> _open = new(StringComparer.Ordinal);
    private readonly int _limit = options.Value.MaxStreamsPerConnection;

    private sealed class OpenCalls
    {
        public int Count;
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        var connection = Enter(context);
        try { return await continuation(requestStream, context).ConfigureAwait(false); }
        finally { Leave(connection); }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        var connection = Enter(context);
        try { await continuation(request, responseStream, context).ConfigureAwait(false); }
        finally { Leave(connection); }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        var connection = Enter(context);
        try { await continuation(requestStream, responseStream, context).ConfigureAwait(false); }
        finally { Leave(connection); }
    }

    private (string Id, OpenCalls Box) Enter(ServerCallContext context)
    {
        var id = context.GetHttpContext().Connection.Id;
        var box = _open.GetOrAdd(id, static _ => new OpenCalls());
        var streaming = Interlocked.Increment(ref box.Count);
        if (streaming <= _limit - 1) return (id, box);
        Leave((id, box));
        var message = $"{context.Method}: this connection already has {streaming - 1} streaming calls open; the limit is " +
            $"{_limit} concurrent streams per connection (max-streams-per-connection), one of them kept for unary calls such as Score. " +
            "Raise it with --max-streams-per-connection or STREAMML_MAX_STREAMS_PER_CONNECTION, close streams you no longer read, " +
            "or open another connection (channel)";
        throw ErrorDetails.Build(StatusCode.ResourceExhausted, message, ErrorDetails.Reasons.TooManyStreams, new()
        {
            ["limit"] = _limit.ToString(CultureInfo.InvariantCulture),
            ["setting"] = "max-streams-per-connection",
            ["open_streaming_calls"] = (streaming - 1).ToString(CultureInfo.InvariantCulture),
        }).ToRpcException();
    }

    private void Leave((string Id, OpenCalls Box) connection)
    {
        // A connection whose last stream ends is forgotten (only this box, should another call have replaced it).
        if (Interlocked.Decrement(ref connection.Box.Count) == 0) _open.TryRemove(new KeyValuePair<string, OpenCalls>(connection.Id, connection.Box));
    }
}

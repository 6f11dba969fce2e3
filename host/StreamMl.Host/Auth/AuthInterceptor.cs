using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;
using StreamMl.Host.Hosting;

namespace StreamMl.Host.Auth;

/// <summary>Checks the API key of every call (metadata <c>authorization: Bearer KEY</c> or <c>x-api-key: KEY</c>)
/// against the role the RPC needs. With no keys configured every call is let through (the host then listens on
/// loopback only). Health checks never need a key, so load balancers and orchestrators can probe.</summary>
internal sealed class AuthInterceptor(ApiKeyStore keys, ILogger<AuthInterceptor> logger) : Interceptor
{
    /// <summary>The role an RPC needs, or null when it needs none.</summary>
    internal static ApiRole? RequiredRole(string method)
    {
        if (method.StartsWith("/grpc.health.v1.Health/", StringComparison.Ordinal)) return null;
        if (method.StartsWith("/grpc.reflection.", StringComparison.Ordinal)) return ApiRole.Read;
        if (method.StartsWith("/streamml.v1.Query/", StringComparison.Ordinal)) return ApiRole.Read;
        if (method.StartsWith("/streamml.v1.Control/", StringComparison.Ordinal)) return ApiRole.Admin;
        // Open Inference Protocol: liveness and readiness are health checks; metadata and inference are scoring.
        if (method is "/inference.GRPCInferenceService/ServerLive" or "/inference.GRPCInferenceService/ServerReady") return null;
        if (method.StartsWith("/inference.GRPCInferenceService/", StringComparison.Ordinal)) return ApiRole.Score;
        return method switch
        {
            "/streamml.v1.DataPlane/Subscribe" => ApiRole.Read,
            "/streamml.v1.DataPlane/Score" or "/streamml.v1.DataPlane/ScoreStream" or "/streamml.v1.DataPlane/Ingest"
                or "/streamml.v1.DataPlane/IngestAcked" or "/streamml.v1.DataPlane/DescribeModel" => ApiRole.Score,
            "/streamml.v1.Recommendations/Recommend" or "/streamml.v1.Recommendations/RecommendStream" => ApiRole.Score,
            // Anything not listed is an administrator's business.
            _ => ApiRole.Admin,
        };
    }

    /// <summary>Key of <see cref="ServerCallContext.UserState"/> under which the caller's role is kept for later
    /// interceptors (absent when the host runs without keys: every caller is then trusted as an administrator).</summary>
    internal const string RoleKey = "streamml.role";

    /// <summary>True when the caller may see what only administrators see (the names of every pipeline, say).</summary>
    internal static bool IsAdmin(ServerCallContext context) =>
        !context.UserState.TryGetValue(RoleKey, out var role) || role is ApiRole.Admin;

    private void Check(ServerCallContext context)
    {
        if (!keys.Enabled) return;
        var needed = RequiredRole(context.Method);
        if (needed is null) return;
        var presented = Presented(context.RequestHeaders);
        if (presented is null)
        {
            Log.AuthRefused(logger, context.Method, "no key");
            throw new RpcException(new Status(StatusCode.Unauthenticated,
                $"{context.Method} needs an API key with the {needed.Value.ToString().ToLowerInvariant()} role: send metadata 'authorization: Bearer <key>' or 'x-api-key: <key>'"));
        }
        if (keys.Find(presented) is not { } key)
        {
            Log.AuthRefused(logger, context.Method, "unknown key");
            throw new RpcException(new Status(StatusCode.Unauthenticated, "the API key is not valid"));
        }
        context.UserState[RoleKey] = key.Role;
        if (key.Role < needed.Value)
        {
            Log.AuthRefused(logger, context.Method, $"key '{key.Name}' has role {key.Role}");
            throw new RpcException(new Status(StatusCode.PermissionDenied,
                $"{context.Method} needs the {needed.Value.ToString().ToLowerInvariant()} role; this key has {key.Role.ToString().ToLowerInvariant()}"));
        }
    }

    private static string? Presented(Metadata headers)
    {
        var authorization = headers.GetValue("authorization");
        if (authorization is not null && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            return authorization[7..].Trim();
        return headers.GetValue("x-api-key");
    }

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(request, context);
    }

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(requestStream, context);
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(request, responseStream, context);
    }

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(requestStream, responseStream, context);
    }
}

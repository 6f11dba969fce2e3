using Grpc.Core;
using Grpc.Net.Client;

namespace StreamMl.Host.Cli;

/// <summary>Connects CLI commands to a running host and maps gRPC failures to exit codes and plain messages.</summary>
internal static class HostClient
{
    public static GrpcChannel Open(string address, string? apiKey)
    {
        var options = new GrpcChannelOptions { MaxReceiveMessageSize = 64 * 1024 * 1024, MaxSendMessageSize = 64 * 1024 * 1024 };
        if (!string.IsNullOrEmpty(apiKey))
        {
            var credentials = CallCredentials.FromInterceptor((_, metadata) =>
            {
                metadata.Add("authorization", $"Bearer {apiKey}");
                return Task.CompletedTask;
            });
            options.Credentials = ChannelCredentials.Create(address.StartsWith("https", StringComparison.Ordinal) ? ChannelCredentials.SecureSsl : ChannelCredentials.Insecure, credentials);
            options.UnsafeUseInsecureChannelCallCredentials = true;
        }
        return GrpcChannel.ForAddress(address, options);
    }

    public static int Report(RpcException ex, string address, TextWriter error)
    {
        switch (ex.StatusCode)
        {
            case StatusCode.Unavailable:
                error.WriteLine($"error: no StreamMl host answers at {address}: start one with `streamml serve` or pass --address");
                return ExitCodes.Unavailable;
            case StatusCode.Unauthenticated or StatusCode.PermissionDenied:
                error.WriteLine($"error: {ex.Status.Detail} (pass --api-key or set STREAMML_API_KEY)");
                return ExitCodes.Unauthorized;
            case StatusCode.NotFound:
                error.WriteLine($"error: {ex.Status.Detail}");
                return ExitCodes.NotFound;
            case StatusCode.InvalidArgument:
                error.WriteLine($"error: {ex.Status.Detail}");
                return ExitCodes.Usage;
            case StatusCode.FailedPrecondition:
                error.WriteLine($"error: {ex.Status.Detail}");
                return ExitCodes.FailedPrecondition;
            default:
                error.WriteLine($"error: {ex.StatusCode}: {ex.Status.Detail}");
                return ExitCodes.Failed;
        }
    }
}

using Grpc.Core;
using StreamMl.Engine;

namespace StreamMl.Host.Grpc.Inference;

/// <summary>An Open Inference Protocol request that cannot be answered: the gRPC status code it is answered with and
/// a message that names the model, input and shape. HTTP answers it with <see cref="HttpStatus"/> and
/// <c>{"error": message}</c>.</summary>
internal sealed class InferenceException(StatusCode code, string message) : StreamMlException(message)
{
    /// <summary>NOT_FOUND for an unknown model or version, INVALID_ARGUMENT for a request that does not fit the model.</summary>
    public StatusCode Code { get; } = code;

    /// <summary>The HTTP status of the REST form.</summary>
    public int HttpStatus => ToHttp(Code);

    /// <summary>The HTTP status for a gRPC status code.</summary>
    public static int ToHttp(StatusCode code) => code switch
    {
        StatusCode.NotFound => 404,
        StatusCode.InvalidArgument or StatusCode.FailedPrecondition or StatusCode.OutOfRange => 400,
        StatusCode.Unauthenticated => 401,
        StatusCode.PermissionDenied => 403,
        StatusCode.ResourceExhausted => 429,
        StatusCode.Unavailable => 503,
        _ => 500,
    };

    public static InferenceException BadInput(string message) => new(StatusCode.InvalidArgument, message);

    public static InferenceException NotFound(string message) => new(StatusCode.NotFound, message);
}

using Google.Protobuf;
using Grpc.Core;
using StreamMl.Host.Protos;

namespace StreamMl.Host.Grpc;

/// <summary>Binds the StreamMl services like the generated <c>BindService</c> methods, with request deserializers that
/// answer bytes that are not the request message with INVALID_ARGUMENT. grpc-dotnet deserializes a unary request
/// before any interceptor runs and answers a failure with UNKNOWN ("Exception was thrown by handler"); the services
/// name these methods with <see cref="BindServiceMethodAttribute"/>, which grpc-dotnet prefers to the base class's.
/// The second parameter is the generated base class, since grpc-dotnet finds each handler as an override of it.</summary>
internal static class StrictBinding
{
    /// <summary>Binds the Control service.</summary>
    public static void BindControl(ServiceBinderBase binder, Control.ControlBase service) => Control.BindService(new Binder(binder), service);

    /// <summary>Binds the Query service.</summary>
    public static void BindQuery(ServiceBinderBase binder, Query.QueryBase service) => Query.BindService(new Binder(binder), service);

    /// <summary>Binds the DataPlane service.</summary>
    public static void BindDataPlane(ServiceBinderBase binder, DataPlane.DataPlaneBase service) => DataPlane.BindService(new Binder(binder), service);

    /// <summary>Binds the Recommendations service.</summary>
    public static void BindRecommendations(ServiceBinderBase binder, Protos.Recommendations.RecommendationsBase service) => Protos.Recommendations.BindService(new Binder(binder), service);

    /// <summary>Binds the Open Inference Protocol service.</summary>
    public static void BindInference(ServiceBinderBase binder, Inference.Protocol.GRPCInferenceService.GRPCInferenceServiceBase service) =>
        Inference.Protocol.GRPCInferenceService.BindService(new Binder(binder), service);

    private static Method<TRequest, TResponse> Strict<TRequest, TResponse>(Method<TRequest, TResponse> method)
        where TRequest : class where TResponse : class
    {
        var inner = method.RequestMarshaller;
        // Ingest's Arrow payload goes to a pooled array instead of a new one per message (IngestRequestReader).
        var deserialize = typeof(TRequest) == typeof(IngestRequest)
            ? (Func<DeserializationContext, TRequest>)(Delegate)new Func<DeserializationContext, IngestRequest>(IngestRequestReader.Deserialize)
            : inner.ContextualDeserializer;
        var requests = Marshallers.Create(inner.ContextualSerializer, context =>
        {
            try
            {
                return deserialize(context);
            }
            catch (InvalidProtocolBufferException ex)
            {
                throw ErrorDetails.Build(StatusCode.InvalidArgument,
                    $"{method.FullName}: the request is not a valid {typeof(TRequest).Name} protobuf message ({ex.Message})",
                    ErrorDetails.Reasons.InvalidProtobuf).ToRpcException();
            }
        });
        return new Method<TRequest, TResponse>(method.Type, method.ServiceName, method.Name, requests, method.ResponseMarshaller);
    }

    private sealed class Binder(ServiceBinderBase inner) : ServiceBinderBase
    {
        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler) =>
            inner.AddMethod(Strict(method), handler);

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler) =>
            inner.AddMethod(Strict(method), handler);

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler) =>
            inner.AddMethod(Strict(method), handler);

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler) =>
            inner.AddMethod(Strict(method), handler);
    }
}

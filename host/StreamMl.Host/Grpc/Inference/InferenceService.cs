using Grpc.Core;
using StreamMl.Host.Grpc.Inference.Protocol;
using StreamMl.Host.Hosting;

namespace StreamMl.Host.Grpc.Inference;

/// <summary>The Open Inference Protocol's gRPC service (<c>inference.GRPCInferenceService</c>) over
/// <see cref="InferenceModels"/>. ServerLive and ServerReady need no key (like grpc.health.v1); the rest need the
/// score role (<see cref="Auth.AuthInterceptor"/>).</summary>
[BindServiceMethod(typeof(StrictBinding), nameof(StrictBinding.BindInference))]
internal sealed class InferenceService(InferenceModels models) : GRPCInferenceService.GRPCInferenceServiceBase
{
    public override Task<ServerLiveResponse> ServerLive(ServerLiveRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerLiveResponse { Live = true });

    public override Task<ServerReadyResponse> ServerReady(ServerReadyRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerReadyResponse { Ready = models.ServerReady() });

    public override Task<ModelReadyResponse> ModelReady(ModelReadyRequest request, ServerCallContext context) =>
        Task.FromResult(new ModelReadyResponse { Ready = models.Ready(request.Name, request.Version) });

    public override Task<ServerMetadataResponse> ServerMetadata(ServerMetadataRequest request, ServerCallContext context) =>
        Task.FromResult(models.ServerMetadata());

    public override Task<ModelMetadataResponse> ModelMetadata(ModelMetadataRequest request, ServerCallContext context) =>
        Task.FromResult(Answer(models, request, static (m, r) => m.Metadata(r.Name, r.Version)));

    public override Task<ModelInferResponse> ModelInfer(ModelInferRequest request, ServerCallContext context) =>
        Task.FromResult(Answer(models, request, static (m, r) => m.Infer(r)));

    /// <summary>Answers with <paramref name="answer"/> (static: no closure per call), turning an
    /// <see cref="InferenceException"/> into its status.</summary>
    private static TResponse Answer<TRequest, TResponse>(InferenceModels models, TRequest request, Func<InferenceModels, TRequest, TResponse> answer)
    {
        try
        {
            return answer(models, request);
        }
        catch (InferenceException ex)
        {
            throw new RpcException(new Status(ex.Code, SafeText.Detail(ex.Message)));
        }
    }
}

using Grpc.Core;
using StreamMl.Host.Pipelines;
using StreamMl.Host.Protos;
using StreamMl.Host.Recommendations;

namespace StreamMl.Host.Grpc;

/// <summary>The Recommendations service: Recommend and RecommendStream from a pipeline's <c>recommend</c> section.
/// Needs the score role.</summary>
[BindServiceMethod(typeof(StrictBinding), nameof(StrictBinding.BindRecommendations))]
internal sealed class RecommendationsService(PipelineManager pipelines) : Protos.Recommendations.RecommendationsBase
{
    public override Task<RecommendResponse> Recommend(RecommendRequest request, ServerCallContext context) =>
        Task.FromResult(RecommendAnswers.Answer(pipelines.Get(request.Pipeline), request));

    public override async Task RecommendStream(IAsyncStreamReader<RecommendRequest> requestStream, IServerStreamWriter<RecommendResponse> responseStream,
        ServerCallContext context)
    {
        ManagedPipeline? pipeline = null;
        while (await requestStream.MoveNext(context.CancellationToken))
        {
            var request = requestStream.Current;
            // The pipeline may be named once; later requests with an empty name reuse it.
            if (pipeline is null || (request.Pipeline.Length > 0 && request.Pipeline != pipeline.Name)) pipeline = pipelines.Get(request.Pipeline);
            await responseStream.WriteAsync(RecommendAnswers.Answer(pipeline, request), context.CancellationToken);
        }
    }
}

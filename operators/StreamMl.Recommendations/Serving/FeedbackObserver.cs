namespace StreamMl.Recommendations.Serving;

/// <summary>Hands the interactions an <see cref="Pipelines.InteractionOperator"/> reads to a
/// <see cref="RecommendationServer"/>'s feedback join: pass it to the operator after the models. It learns nothing and
/// recommends nothing (<see cref="Recommend"/> throws); its snapshot is empty, so online metrics start again after a
/// restart while the models carry on.</summary>
internal sealed class FeedbackObserver(RecommendationServer server) : IRecommender
{
    public string Name => "feedback";

    public RecommenderStats Stats => default;

    public void Update(in Interaction interaction) => server.Observe(interaction);

    public void Update(InteractionBatch batch) => server.Observe(batch);

    public RecommendResult Recommend(long user, int k, RecommendRequest? request, Span<ScoredItem> results) =>
        throw new NotSupportedException("the feedback observer only joins interactions to served recommendations; ask a model");

    public void Snapshot(Stream destination) { }

    public void Restore(Stream source) { }
}

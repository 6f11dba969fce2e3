using StreamMl.Engine;

namespace StreamMl.Host.Recommendations;

/// <summary>The pipeline stage of a <c>recommend</c> section: feeds each batch's interactions to the models through the
/// library's interaction operator (<see cref="RecommendState.Learn"/>) and passes the batch on.</summary>
internal sealed class RecommendStage(RecommendState state) : IBatchOperator
{
    public string Name => "recommend";

    public Schema Bind(Schema input) => state.Interactions.Bind(input);

    public void Process(ColumnBatch batch, StageContext context) => state.Learn(batch, context);
}

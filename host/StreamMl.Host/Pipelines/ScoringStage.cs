using StreamMl.Host.Models;
using StreamMl.Operators.Scoring;

namespace StreamMl.Host.Pipelines;

/// <summary>Composes the <c>model</c> stage: the operators' <see cref="VariantScoringOperator"/> over a pipeline's
/// <see cref="ModelDeployments"/> (primary, A/B candidate, shadows, rollout; accuracy and shadow agreement are recorded
/// back into the deployments).</summary>
internal static class ScoringStage
{
    /// <summary>The model stage scoring into <paramref name="scoreColumn"/>, routing A/B traffic by
    /// <paramref name="keyColumn"/> and tracking labels of <paramref name="labelColumn"/>.</summary>
    public static VariantScoringOperator Create(ModelDeployments deployments, string scoreColumn, string? keyColumn,
        string? labelColumn, int workers = 1) => new(new VariantScoringOptions
        {
            Plans = deployments,
            ScoreColumn = scoreColumn,
            KeyColumn = keyColumn,
            LabelColumn = labelColumn,
            Workers = workers,
        });
}

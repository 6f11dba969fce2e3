using StreamMl.Recommendations;
using StreamMl.Recommendations.Pipelines;
using StreamMl.Recommendations.Serving;

namespace StreamMl.Host.Recommendations;

/// <summary>One model of a <c>recommend</c> section: its name in the spec and how to create it.</summary>
internal sealed record RecommendModel(string Name, Func<IRecommender> Create);

/// <summary>One A/B variant of a <c>recommend</c> section: its name, the model it serves and its traffic weight.</summary>
internal sealed record RecommendVariant(string Name, string Model, double Weight);

/// <summary>A pipeline's <c>recommend</c> section, read and checked (<see cref="RecommendSection"/>).</summary>
internal sealed class RecommendSettings
{
    public required InteractionColumns Columns { get; init; }

    public required IReadOnlyList<RecommendModel> Models { get; init; }

    public required IReadOnlyList<RecommendVariant> Variants { get; init; }

    /// <summary>Items returned when a request leaves k at 0.</summary>
    public int DefaultK { get; init; } = 10;

    public required ServingOptions Serving { get; init; }

    /// <summary>The snapshot file the recommenders' state is checkpointed to with the source positions; null for none.</summary>
    public string? CheckpointPath { get; init; }
}

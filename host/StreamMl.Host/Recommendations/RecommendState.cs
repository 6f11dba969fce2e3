using StreamMl.Engine;
using StreamMl.Recommendations;
using StreamMl.Recommendations.Pipelines;
using StreamMl.Recommendations.Serving;

namespace StreamMl.Host.Recommendations;

/// <summary>A pipeline's <c>recommend</c> section wired to the library: the spec's settings and the
/// <see cref="RecommendationState"/> built from them (models, interaction operator, A/B server, checkpoint format and
/// replay skipping all live there). The pipeline runs the state as its stage, the checkpoint sink
/// (<see cref="RecommendCheckpointSink"/>) writes it, the Recommendations service answers from it.</summary>
internal sealed class RecommendState
{
    private RecommendState(RecommendSettings settings)
    {
        Settings = settings;
        var models = settings.Models.Select(m => new NamedRecommender(m.Name, m.Create())).ToArray();
        Library = new RecommendationState(settings.Columns, models,
            [.. settings.Variants.Select(v => new RecommendationVariant(v.Name, models.First(m => m.Name == v.Model).Recommender, v.Weight))],
            settings.Serving);
        Models = [.. models.Select(m => m.Recommender)];
    }

    public RecommendSettings Settings { get; }

    /// <summary>The library state the section is made of.</summary>
    public RecommendationState Library { get; }

    /// <summary>The models in spec order.</summary>
    public IRecommender[] Models { get; }

    public RecommendationServer Server => Library.Server;

    public InteractionOperator Interactions => Library.Interactions;

    /// <summary>Checkpoints written since the pipeline was created.</summary>
    public long Checkpoints => Library.Checkpoints;

    /// <summary>Rows skipped after a restart because the restored models had already learnt from them.</summary>
    public long ReplayedRowsSkipped => Library.ReplayedRowsSkipped;

    /// <summary>Creates the state, restored from the checkpoint file when there is one.</summary>
    public static RecommendState Create(RecommendSettings settings)
    {
        var state = new RecommendState(settings);
        if (settings.CheckpointPath is { } path)
        {
            try
            {
                state.Library.TryRestoreCheckpoint(path);
            }
            catch (StreamMlException ex)
            {
                throw new StreamMlException($"{ex.Message} Or point 'recommend.checkpoint' elsewhere.");
            }
        }
        return state;
    }

    /// <summary>The pipeline stage: the library state learns from each batch and passes it on.</summary>
    public IBatchOperator Stage() => Library;

    /// <summary>The sink that writes checkpoints, or null when the section names no checkpoint file.</summary>
    public RecommendCheckpointSink? CheckpointSink() => Settings.CheckpointPath is null ? null : new RecommendCheckpointSink(this);

    /// <summary>Writes the checkpoint file.</summary>
    public void WriteCheckpoint() =>
        Library.WriteCheckpoint(Settings.CheckpointPath ?? throw new InvalidOperationException("the recommend section has no checkpoint file"));
}

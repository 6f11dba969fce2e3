namespace StreamMl.Operators.Scoring;

/// <summary>Options of <see cref="VariantScoringOperator"/>.</summary>
public sealed class VariantScoringOptions
{
    /// <summary>Where the models come from, per batch (required).</summary>
    public required IScoringPlanSource Plans { get; init; }

    /// <summary>The float32 column the answering score is written to. Default "score".</summary>
    public string ScoreColumn { get; init; } = "score";

    /// <summary>The string column that receives the <see cref="IScoringModel.Id"/> of the model that answered. Default "model".</summary>
    public string ModelColumn { get; init; } = "model";

    /// <summary>String, int32 or int64 column whose hash routes rows between the answering model and the candidate
    /// (<see cref="Engine.Routing.TrafficSplit"/>, as <see cref="ScoringOperator.SetVariants"/>); a null key stays with
    /// the answering model. Default null: the row's source position (offset and partition) is the key.</summary>
    public string? KeyColumn { get; init; }

    /// <summary>Column with (delayed) labels: bool or numeric, true or at least 0.5 is the positive class. When set, the
    /// labelled rows' accuracy and log loss go to <see cref="IScoringPlanSource.RecordLabels"/> and to the rollout.
    /// Default null.</summary>
    public string? LabelColumn { get; init; }

    /// <summary>Pipeline threads that run the stage; each worker has its own scorers. Default 1.</summary>
    public int Workers { get; init; } = 1;

    /// <summary>Operator name in counters and logs. Default "model".</summary>
    public string Name { get; init; } = "model";
}

namespace StreamMl.Operators.Scoring;

/// <summary>Where <see cref="VariantScoringOperator"/> gets its <see cref="ScoringPlan"/> (read once per batch, so a
/// deploy or promote takes effect between two batches) and reports what it observed. Called from every worker thread.</summary>
public interface IScoringPlanSource
{
    /// <summary>The plan for the next batch; the same instance while nothing changes.</summary>
    ScoringPlan Plan { get; }

    /// <summary>A batch's selected rows with a label: how many, how many the answering score classified right (score at
    /// or above 0.5 against a label that is true or at least 0.5), and their summed log loss.</summary>
    void RecordLabels(long labelled, long correct, double logLoss);

    /// <summary>One shadow over a batch's selected rows: how many, and on how many it agreed with the answer (both at or
    /// above 0.5, or both below).</summary>
    void RecordShadow(long rows, long agree);
}

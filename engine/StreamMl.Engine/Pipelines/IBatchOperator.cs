namespace StreamMl.Engine;

/// <summary>Transforms batches in place: adds or rewrites columns, deselects rows that fail a rule.
/// One operator runs on one stage thread; <see cref="Process"/> is never called concurrently.</summary>
public interface IBatchOperator
{
    /// <summary>Name shown in counters, logs and dead letters.</summary>
    string Name { get; }

    /// <summary>Called once when the pipeline is built, with the schema of the batches it will see; returns that
    /// schema plus the columns the operator writes (see <see cref="Schema.Add"/>). Throws a
    /// <see cref="SchemaMismatchException"/> when a column it needs is missing.</summary>
    Schema Bind(Schema input);

    /// <summary>Processes the batch's selected rows. Must not keep a reference to <paramref name="batch"/>.</summary>
    void Process(ColumnBatch batch, StageContext context);

    /// <summary>The input has ended (bounded sources): emit what is still held, such as open windows.</summary>
    void Complete(StageContext context) { }
}

/// <summary>What an operator or sink gets from its pipeline stage.</summary>
public sealed class StageContext
{
    internal StageContext(string pipelineName, string stageName, IDeadLetterSink deadLetters, IBatchSource? source)
    {
        PipelineName = pipelineName;
        StageName = stageName;
        DeadLetters = deadLetters;
        Source = source;
    }

    /// <summary>Creates a context for driving an operator outside a pipeline (tests, embedding).</summary>
    public static StageContext Standalone(string stageName, IDeadLetterSink? deadLetters = null) =>
        new("standalone", stageName, deadLetters ?? new CollectingDeadLetterSink(), null);

    /// <summary>Name of the pipeline.</summary>
    public string PipelineName { get; }

    /// <summary>Name of this stage.</summary>
    public string StageName { get; }

    /// <summary>Where rejected rows go.</summary>
    public IDeadLetterSink DeadLetters { get; }

    /// <summary>The pipeline's source, to describe row positions; null outside a pipeline.</summary>
    public IBatchSource? Source { get; }

    /// <summary>Sends row <paramref name="row"/> of <paramref name="batch"/> to the dead-letter sink with the rule that
    /// failed, deselects it, and counts it.</summary>
    public void Reject(ColumnBatch batch, int row, string rule, string message)
    {
        batch.Selection.Deselect(row);
        var partition = batch.RowPartitions[row];
        var offset = batch.RowOffsets[row];
        DeadLetters.Write(new DeadLetter(
            PipelineName, StageName, rule, message,
            Source?.Describe(partition, offset) ?? $"partition {partition} offset {offset}",
            partition, offset, DeadLetter.FormatRow(batch, row)));
        RowsRejected++;
    }

    /// <summary>Rows this stage has rejected.</summary>
    public long RowsRejected { get; private set; }
}

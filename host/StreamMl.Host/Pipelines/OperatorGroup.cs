using StreamMl.Engine;

namespace StreamMl.Host.Pipelines;

/// <summary>Runs several operators of one spec section as one stage, in order (a section is one stage of the pipeline).</summary>
internal sealed class OperatorGroup(string name, IReadOnlyList<IBatchOperator> operators) : IBatchOperator
{
    public string Name => name;

    public IReadOnlyList<IBatchOperator> Operators => operators;

    public Schema Bind(Schema input)
    {
        foreach (var op in operators) input = op.Bind(input);
        return input;
    }

    public void Process(ColumnBatch batch, StageContext context)
    {
        foreach (var op in operators) op.Process(batch, context);
    }

    public void Complete(StageContext context)
    {
        foreach (var op in operators) op.Complete(context);
    }
}

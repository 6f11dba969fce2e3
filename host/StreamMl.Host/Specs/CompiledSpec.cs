using StreamMl.Engine;
using StreamMl.Engine.Ring;
using StreamMl.Host.Pipelines;

namespace StreamMl.Host.Specs;

/// <summary>One component of a compiled spec: its kind or section, where it is in the spec, and how to create it.</summary>
internal sealed record SpecStage<T>(string Kind, int Line, int Column, Func<PipelineRuntime, T> Create);

/// <summary>A spec that parsed without errors: the pipeline's name and options and how to create each stage.</summary>
internal sealed class CompiledSpec
{
    public required string Name { get; init; }

    public required string Text { get; init; }

    public required SpecStage<IBatchSource> Source { get; init; }

    /// <summary>Operators in run order; Kind is the section name.</summary>
    public required IReadOnlyList<SpecStage<IBatchOperator>> Operators { get; init; }

    public required IReadOnlyList<SpecStage<IBatchSink>> Sinks { get; init; }

    /// <summary>Sinks of the alert rows (<c>alerts.sinks</c>); empty when alerts only go to Subscribe and the logs.</summary>
    public IReadOnlyList<SpecStage<IBatchSink>> AlertSinks { get; init; } = [];

    /// <summary>The spec's <c>alerts.cooldown</c> (default zero).</summary>
    public TimeSpan AlertCooldown { get; init; }

    public int BatchCapacity { get; init; } = ColumnBatch.DefaultCapacity;

    public int RingSize { get; init; } = 8;

    /// <summary>Where the spec sizes the ring (<c>options.batch_capacity</c>, else <c>options.ring_size</c>, else
    /// <c>options</c>, else line 1), for a memory budget error.</summary>
    public int SizeLine { get; init; } = 1;

    /// <summary>The column of <see cref="SizeLine"/>.</summary>
    public int SizeColumn { get; init; } = 1;

    public WaitStrategyKind WaitStrategy { get; init; } = WaitStrategyKind.Blocking;

    public TimeSpan FlushInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Creates every stage and binds the schemas without opening anything; a schema problem becomes an
    /// error at the position of the stage that raised it. Returns the input schema and the pipeline schema.</summary>
    public (Schema Input, Schema Output) Bind(PipelineRuntime runtime, bool scoreChainOnly = false)
    {
        var source = Create(Source, runtime);
        var input = source.Schema;
        var schema = input;
        foreach (var stage in Operators)
        {
            if (scoreChainOnly && !ComponentRegistry.ScoreSections.Contains(stage.Kind)) continue;
            var op = Create(stage, runtime);
            try
            {
                schema = op.Bind(schema);
            }
            catch (StreamMlException ex)
            {
                throw new SpecException([new SpecError(stage.Line, stage.Column, $"{stage.Kind}: {ex.Message}")]);
            }
        }
        _ = source.DisposeAsync();
        return (input, schema);
    }

    /// <summary>Creates a stage, turning a failure into a spec error at its position.</summary>
    public static T Create<T>(SpecStage<T> stage, PipelineRuntime runtime)
    {
        try
        {
            return stage.Create(runtime);
        }
        catch (Exception ex) when (ex is StreamMlException or IOException or ArgumentException or InvalidOperationException)
        {
            throw new SpecException([new SpecError(stage.Line, stage.Column, $"{stage.Kind}: {ex.Message}")]);
        }
    }
}

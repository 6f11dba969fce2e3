using StreamMl.Engine;
using StreamMl.Host.Cli;
using StreamMl.Host.Models;
using StreamMl.Host.Pipelines;
using StreamMl.Host.Specs;

namespace StreamMl.Host.Tests.Specs;

/// <summary>The model section's <c>workers</c> key: the model stage asks the pipeline for that many scoring threads
/// (default 1), and a value out of range is reported at its line and column.</summary>
public sealed class ParallelModelSpecTests
{
    private static readonly SpecCompiler s_compiler = new(ComponentRegistry.CreateDefault(), new ModelCatalog());

    private static string Spec(string workers) => $$"""
        name: plant
        source:
          kind: grpc
          columns: { temperature: float32 }
        model:
          kind: linear
          weights: { temperature: 0.5 }
        {{workers}}
        sinks:
          - kind: memory
        """;

    [Theory]
    [InlineData("", 1)]
    [InlineData("  workers: 2", 2)]
    public void The_model_stage_asks_for_the_workers_the_spec_names(string line, int expected)
    {
        var spec = s_compiler.Compile(Spec(line));
        var runtime = new PipelineRuntime("plant", new ModelCatalog());
        var stage = spec.Operators.Single(o => o.Kind == "model");
        var op = Assert.IsAssignableFrom<IParallelOperator>(CompiledSpec.Create(stage, runtime));
        Assert.Equal(expected, op.Workers);
        Assert.Equal("model", op.CreateWorker().Name);
    }

    [Fact]
    public void Zero_workers_is_an_error_at_its_position()
    {
        var text = Spec("  workers: 0");
        var error = Assert.Single(ValidateCommand.Validate(s_compiler, text, null));
        var index = text.IndexOf("0\n", text.IndexOf("workers", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Equal(text[..index].Count(c => c == '\n') + 1, error.Line);
        Assert.Contains("workers", error.Message);
    }
}

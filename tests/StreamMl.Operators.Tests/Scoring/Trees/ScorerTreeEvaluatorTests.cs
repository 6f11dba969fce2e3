using StreamMl.Engine;
using StreamMl.Operators.Scoring;
using StreamMl.Operators.Tests.Features;

namespace StreamMl.Operators.Tests.Scoring.Trees;

/// <summary>The scorer's choice of evaluator (<see cref="ScoringOptions.TreeEvaluator"/>): Auto puts ML.NET's tree
/// models on the engine's evaluator and keeps other models on ONNX Runtime, and its outputs equal the ONNX Runtime
/// scorer's bit for bit on the credit rows, over full and partial batches, with no allocation per batch.</summary>
[Collection(CreditModelsCollection.Name)]
public sealed class ScorerTreeEvaluatorTests(CreditModels credit)
{
    private (ScoringOperator Scorer, Schema Schema) Scorer(OnnxModel model, TreeEvaluator evaluator)
    {
        var scorer = new ScoringOperator(model, new ScoringOptions { FeatureColumns = credit.Features.OutputColumns, TreeEvaluator = evaluator });
        return (scorer, scorer.Bind(credit.ServingSchema));
    }

    private float[][] ScoreAll(OnnxModel model, TreeEvaluator evaluator, int capacity, out bool usedTrees)
    {
        var (scorer, schema) = Scorer(model, evaluator);
        using var _ = scorer;
        var batches = credit.ServingBatches(schema, capacity, CreditModels.Rows);
        try
        {
            foreach (var b in batches) { credit.Features.Transform(b); scorer.Score(b); }
            usedTrees = scorer.UsesTreeEvaluator(model);
            return scorer.OutputColumns.Select(c => batches.SelectMany(b => b.Schema[b.Schema.Require(c)].Type == ColumnType.Bool
                ? b.Values<byte>(b.Schema.Require(c)).ToArray().Select(x => (float)x)
                : b.Values<float>(b.Schema.Require(c)).ToArray()).ToArray()).ToArray();
        }
        finally { FeatureTestData.DisposeAll(batches); }
    }

    [Theory]
    [InlineData("lightgbm", 4096)]
    [InlineData("fasttree", 4096)]
    [InlineData("lightgbm", 1000)]
    [InlineData("fasttree", 7)]
    public void Auto_scores_tree_models_itself_and_equals_the_OnnxRuntime_scorer(string name, int capacity)
    {
        using var model = credit.Load(name);
        var ort = ScoreAll(model, TreeEvaluator.Ort, capacity, out var ortUsedTrees);
        var own = ScoreAll(model, TreeEvaluator.Auto, capacity, out var autoUsedTrees);
        Assert.False(ortUsedTrees);
        Assert.True(autoUsedTrees, $"Auto did not choose the tree evaluator for {name}");
        Assert.Equal(ort.Length, own.Length);
        for (var o = 0; o < ort.Length; o++) Assert.Equal(ort[o], own[o]);
    }

    [Fact]
    public void The_tree_program_is_compiled_when_the_scorer_gets_the_model_not_at_its_first_batch()
    {
        // A model loaded from a file is compiled for the evaluator from the file's bytes. Removing the file after the
        // scorer was made shows when that happened: compiled at the first batch, the bytes would be gone and the model
        // would fall back to ONNX Runtime.
        var path = Path.Combine(Path.GetTempPath(), $"streamml-eager-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(path, credit.OnnxBytes["lightgbm"]);
        using var model = OnnxModel.Load(path);
        var (scorer, schema) = Scorer(model, TreeEvaluator.Auto);
        using var _ = scorer;
        File.Delete(path);
        var batches = credit.ServingBatches(schema, 4096, 4096);
        try
        {
            foreach (var b in batches) { credit.Features.Transform(b); scorer.Score(b); }
            Assert.True(scorer.UsesTreeEvaluator(model), "the first batch compiled the model (the file was gone by then)");
        }
        finally { FeatureTestData.DisposeAll(batches); }
    }

    [Fact]
    public void Auto_keeps_a_linear_model_on_OnnxRuntime()
    {
        using var model = credit.Load("lr");
        ScoreAll(model, TreeEvaluator.Auto, 4096, out var usedTrees);
        Assert.False(usedTrees);
        Assert.Null(model.TreeProgram("Features", credit.Features.OutputColumns, out var reason));
        Assert.Contains("0 tree ensemble nodes", reason);
    }

    [Fact]
    public void Tree_evaluator_allocates_nothing_per_batch_in_steady_state()
    {
        using var model = credit.Load("lightgbm");
        var (scorer, schema) = Scorer(model, TreeEvaluator.Auto);
        using var _ = scorer;
        var batches = credit.ServingBatches(schema, 1024, 2048 + 100);
        try
        {
            foreach (var b in batches) credit.Features.Transform(b);
            void Once() { foreach (var b in batches) scorer.Score(b); }
            Once();
            Assert.True(scorer.UsesTreeEvaluator(model));
            Assert.Equal(0, SteadyState.AllocatedBytes(Once, 10));
        }
        finally { FeatureTestData.DisposeAll(batches); }
    }
}

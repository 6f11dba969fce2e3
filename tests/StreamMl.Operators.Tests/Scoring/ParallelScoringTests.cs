using StreamMl.Engine;
using StreamMl.Operators.Scoring;

namespace StreamMl.Operators.Tests.Scoring;

/// <summary><see cref="ScoringOptions.Workers"/>: the scorer runs as several pipeline workers whose scores reach the sink
/// in row order and equal ONNX Runtime's own Run; a deploy on the scorer reaches its workers at their next batch.</summary>
[Collection(CreditModelsCollection.Name)]
public sealed class ParallelScoringTests(CreditModels credit)
{
    [Theory]
    [InlineData(1, TreeEvaluator.Auto)]
    [InlineData(2, TreeEvaluator.Auto)]
    [InlineData(3, TreeEvaluator.Ort)]
    public async Task Scores_of_parallel_workers_reach_the_sink_in_row_order_and_equal_OnnxRuntime(int workers, TreeEvaluator evaluator)
    {
        var features = credit.Features.Clone();
        using var model = credit.Load("lightgbm");
        using var scorer = new ScoringOperator(model, new ScoringOptions { FeatureColumns = features.OutputColumns, Workers = workers, TreeEvaluator = evaluator });
        var sink = new PipelineScoringTests.ScoreSink();
        await using (var pipeline = Pipeline.From(new PipelineScoringTests.RowsSource(credit.Raw), new PipelineOptions { Name = "credit", BatchCapacity = 256 })
            .Then(features).Then(scorer).To(sink).Build())
        {
            await pipeline.RunAsync().WaitAsync(TimeSpan.FromSeconds(120));
            Assert.Equal([1, workers], pipeline.StageWorkers);
            // Every worker scored: 6,000 rows in 256-row batches is 24 batches, dealt round-robin.
            Assert.All(pipeline.Stages.Where(s => s.Name.StartsWith("score", StringComparison.Ordinal)), s => Assert.True(s.Batches > 0, $"{s.Name} scored nothing"));
        }
        var expected = credit.ReferenceRunBatched("lightgbm", 256, CreditModels.Rows);
        Assert.Equal(expected.Score, sink.Scores);
        Assert.Equal(expected.Probability, sink.Probabilities);
    }

    [Fact]
    public void A_deploy_reaches_the_workers_at_their_next_batch()
    {
        using var lightgbm = credit.Load("lightgbm");
        using var fasttree = credit.Load("fasttree");
        using var scorer = new ScoringOperator(lightgbm, new ScoringOptions { FeatureColumns = credit.Features.OutputColumns, Workers = 2 });
        var worker = (ScoringOperator)scorer.CreateWorker();
        var schema = scorer.Bind(credit.ServingSchema);
        Assert.Equal(schema.Select(f => f.Name), worker.Bind(credit.ServingSchema).Select(f => f.Name));
        var batches = credit.ServingBatches(schema, 512, 1024);
        try
        {
            foreach (var b in batches) credit.Features.Transform(b);
            worker.Score(batches[0]);
            scorer.Deploy(fasttree);
            worker.Score(batches[1]);
            var variant = schema.Require("model_variant");
            Assert.Equal("lightgbm", batches[0][variant].Dictionary![batches[0].Values<int>(variant)[0]]);
            Assert.Equal("fasttree", batches[1][variant].Dictionary![batches[1].Values<int>(variant)[0]]);
            Assert.Equal(1, worker.Swaps);
        }
        finally { Features.FeatureTestData.DisposeAll(batches); }
    }
}

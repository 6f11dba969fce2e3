using Microsoft.ML;
using Microsoft.ML.Data;
using StreamMl.Engine;
using StreamMl.Operators.Scoring;

namespace StreamMl.Operators.Tests.Scoring;

/// <summary>Scores credit-default rows through the feature pipeline and the scoring operator, and compares every output
/// with ONNX Runtime's own Run on the same rows (exact) and with ML.NET's in-process predictions (1e-5).</summary>
[Collection(CreditModelsCollection.Name)]
public sealed class ScoringOperatorTests(CreditModels credit)
{
    private (ScoringOperator Scorer, Schema Schema) Scorer(OnnxModel model, string? routingKey = null, IShadowRecorder? recorder = null)
    {
        var scorer = new ScoringOperator(model, new ScoringOptions
        {
            FeatureColumns = credit.Features.OutputColumns,
            RoutingKeyColumn = routingKey,
            ShadowRecorder = recorder,
        });
        var input = credit.ServingSchema.Add(new Field("customer", ColumnType.Int64));
        return (scorer, scorer.Bind(input));
    }

    private static (float[] Score, float[] Probability, bool[] Label, string[] Variant) Collect(List<ColumnBatch> batches)
    {
        var score = new List<float>();
        var probability = new List<float>();
        var label = new List<bool>();
        var variant = new List<string>();
        foreach (var b in batches)
        {
            score.AddRange(b.Values<float>(b.Schema.Require("score")).ToArray());
            probability.AddRange(b.Values<float>(b.Schema.Require("probability")).ToArray());
            label.AddRange(b.Values<byte>(b.Schema.Require("predicted_label")).ToArray().Select(x => x != 0));
            var v = b["model_variant"];
            variant.AddRange(Enumerable.Range(0, b.Length).Select(r => v.Dictionary![v.Values<int>()[r]]));
        }
        return (score.ToArray(), probability.ToArray(), label.ToArray(), variant.ToArray());
    }

    [Theory]
    [InlineData("lr", 4096, CreditModels.Rows)]
    [InlineData("fasttree", 4096, CreditModels.Rows)]
    [InlineData("lightgbm", 4096, CreditModels.Rows)]
    [InlineData("lightgbm", 7, 200)]
    [InlineData("fasttree", 1, 50)]
    public void Engine_scores_equal_OnnxRuntime_Run_on_the_same_rows(string name, int capacity, int rows)
    {
        using var model = credit.Load(name);
        var (scorer, schema) = Scorer(model);
        using var _ = scorer;
        var batches = credit.ServingBatches(schema, capacity, rows);
        try
        {
            foreach (var b in batches)
            {
                credit.Features.Transform(b);
                scorer.Process(b, StageContext.Standalone("score"));
            }
            Assert.True(rows % capacity != 0 || capacity == 1, "the cases must include a partial last batch");
            var actual = Collect(batches);
            var expected = credit.ReferenceRunBatched(name, capacity, rows);
            Assert.Equal(expected.Score, actual.Score);
            Assert.Equal(expected.Probability, actual.Probability);
            Assert.Equal(expected.Label, actual.Label);
            Assert.All(actual.Variant, v => Assert.Equal(name, v));
        }
        finally { Features.FeatureTestData.DisposeAll(batches); }
    }

    [Fact]
    public void Engine_probabilities_match_MLNET_predictions()
    {
        using var model = credit.Load("fasttree");
        var (scorer, schema) = Scorer(model);
        using var _ = scorer;
        var batches = credit.ServingBatches(schema, 4096, CreditModels.Rows);
        try
        {
            foreach (var b in batches) { credit.Features.Transform(b); scorer.Score(b); }
            var actual = Collect(batches);
            var predictions = credit.Transformers["fasttree"].Transform(credit.TrainingData);
            var expected = predictions.GetColumn<float>("Probability").ToArray();
            Assert.Equal(expected.Length, actual.Probability.Length);
            for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual.Probability[i], 1e-5);
        }
        finally { Features.FeatureTestData.DisposeAll(batches); }
    }

    [Fact]
    public void Features_and_scoring_allocate_nothing_per_batch_in_steady_state()
    {
        using var lr = credit.Load("lr");
        using var tree = credit.Load("fasttree");
        using var gbm = credit.Load("lightgbm");
        var (scorer, schema) = Scorer(lr, routingKey: "customer");
        using var _ = scorer;
        var batches = credit.ServingBatches(schema, 1024, 2048);
        try
        {
            void Once() { foreach (var b in batches) { credit.Features.Transform(b); scorer.Score(b); } }
            Once();
            var single = SteadyState.AllocatedBytes(Once, 10);

            scorer.SetVariants((lr, 0.5), (tree, 0.5));
            scorer.SetShadows(gbm);
            Once();
            var withVariantsAndShadow = SteadyState.AllocatedBytes(Once, 10);

            Assert.Equal(0, single);
            Assert.Equal(0, withVariantsAndShadow);
        }
        finally { Features.FeatureTestData.DisposeAll(batches); }
    }

    [Fact]
    public async Task Hot_swap_takes_effect_between_batches_and_never_mixes_models_within_one()
    {
        using var lr = credit.Load("lr");
        using var tree = credit.Load("fasttree");
        var (scorer, schema) = Scorer(lr);
        using var _ = scorer;
        var batches = credit.ServingBatches(schema, 512, 2048);
        var lrRef = credit.ReferenceRunBatched("lr", 512, 2048).Score;
        var treeRef = credit.ReferenceRunBatched("fasttree", 512, 2048).Score;
        try
        {
            foreach (var b in batches) credit.Features.Transform(b);
            scorer.Score(batches[0]);
            scorer.Deploy(tree);
            scorer.Score(batches[1]);
            Assert.Equal(lrRef[..512], batches[0].Values<float>(schema.Require("score")).ToArray());
            Assert.Equal(treeRef[512..1024], batches[1].Values<float>(schema.Require("score")).ToArray());

            // A second thread keeps swapping while batches are scored: each batch must be wholly one model.
            using var stop = new CancellationTokenSource();
            var swapper = Task.Run(() =>
            {
                var flip = false;
                while (!stop.IsCancellationRequested) { scorer.Deploy(flip ? tree : lr); flip = !flip; Thread.Sleep(1); }
            });
            var seen = new HashSet<string>();
            for (var round = 0; round < 60 || scorer.Swaps < 20; round++)
            {
                Assert.True(round < 1_000_000, "the swapping thread never ran");
                var index = round % batches.Count;
                var batch = batches[index];
                scorer.Score(batch);
                var scores = batch.Values<float>(schema.Require("score")).ToArray();
                var variant = batch["model_variant"];
                var name = variant.Dictionary![variant.Values<int>()[0]];
                seen.Add(name);
                var reference = (name == "lr" ? lrRef : treeRef)[(index * 512)..((index + 1) * 512)];
                Assert.Equal(reference, scores);
            }
            stop.Cancel();
            await swapper;
            Assert.Equal(["fasttree", "lr"], seen.Order());
        }
        finally { Features.FeatureTestData.DisposeAll(batches); }
    }

    [Fact]
    public void AB_routing_follows_the_key_hash_and_each_row_gets_its_variants_scores()
    {
        using var lr = credit.Load("lr");
        using var tree = credit.Load("fasttree");
        var (scorer, schema) = Scorer(lr, routingKey: "customer");
        using var _ = scorer;
        scorer.SetVariants((lr, 0.3), (tree, 0.7));
        var batches = credit.ServingBatches(schema, 4096, CreditModels.Rows);
        try
        {
            foreach (var b in batches) { credit.Features.Transform(b); scorer.Score(b); }
            var actual = Collect(batches);
            var lrRef = credit.ReferenceRunBatched("lr", 4096, CreditModels.Rows).Score;
            var treeRef = credit.ReferenceRunBatched("fasttree", 4096, CreditModels.Rows).Score;
            var toLr = 0;
            for (var row = 0; row < CreditModels.Rows; row++)
            {
                // Reference routing: FNV-1a over the key's 8 little-endian bytes, bucket = hash mod 10,000, first 30% to lr.
                var hash = 2166136261u;
                foreach (var b in BitConverter.GetBytes((long)row)) hash = (hash ^ b) * 16777619u;
                var expectLr = hash % 10_000 < 3_000;
                Assert.Equal(expectLr ? "lr" : "fasttree", actual.Variant[row]);
                Assert.Equal(expectLr ? lrRef[row] : treeRef[row], actual.Score[row]);
                if (expectLr) toLr++;
            }
            Assert.InRange(toLr / (double)CreditModels.Rows, 0.27, 0.33);
        }
        finally { Features.FeatureTestData.DisposeAll(batches); }
    }

    [Fact]
    public void Shadow_scores_are_recorded_but_not_emitted()
    {
        using var lr = credit.Load("lr");
        using var gbm = credit.Load("lightgbm", "lightgbm-shadow");
        var recorder = new Recorder();
        var (scorer, schema) = Scorer(lr, recorder: recorder);
        using var _ = scorer;
        scorer.SetShadows(gbm);
        var batches = credit.ServingBatches(schema, 4096, CreditModels.Rows);
        try
        {
            foreach (var b in batches) { credit.Features.Transform(b); scorer.Score(b); }
            var actual = Collect(batches);
            var lrRef = credit.ReferenceRunBatched("lr", 4096, CreditModels.Rows);
            var gbmRef = credit.ReferenceRunBatched("lightgbm", 4096, CreditModels.Rows);
            Assert.Equal(lrRef.Score, actual.Score);
            Assert.All(actual.Variant, v => Assert.Equal("lr", v));
            Assert.Equal(gbmRef.Score, recorder.Shadow.ToArray());
            Assert.Equal(lrRef.Score, recorder.Emitted.ToArray());

            var report = Assert.Single(scorer.ShadowReports());
            Assert.Equal("lightgbm-shadow", report.Model);
            Assert.Equal(CreditModels.Rows, report.Rows);
            var mad = lrRef.Score.Zip(gbmRef.Score).Average(p => Math.Abs((double)p.First - p.Second));
            Assert.Equal(mad, report.MeanAbsoluteDifference, 1e-9);
            var agreement = lrRef.Label.Zip(gbmRef.Label).Count(p => p.First == p.Second) / (double)CreditModels.Rows;
            Assert.Equal(agreement, report.LabelAgreement, 1e-12);
        }
        finally { Features.FeatureTestData.DisposeAll(batches); }
    }

    [Fact]
    public void Models_with_other_outputs_or_widths_are_refused_with_a_clear_message()
    {
        using var lr = credit.Load("lr");
        var wrongWidth = Assert.Throws<ScoringException>(() => new ScoringOperator(lr, new ScoringOptions { FeatureColumns = ["f_AGE", "f_LIMIT_BAL"] }));
        Assert.Contains("[-1, 2]", wrongWidth.Message);
        var (scorer, _) = Scorer(lr);
        using var __ = scorer;
        var noKey = Assert.Throws<ScoringException>(() => scorer.SetVariants((lr, 1)));
        Assert.Contains("RoutingKeyColumn", noKey.Message);
    }

    private sealed class Recorder : IShadowRecorder
    {
        public List<float> Shadow { get; } = [];
        public List<float> Emitted { get; } = [];

        public void Record(OnnxModel shadow, ColumnBatch batch, ReadOnlySpan<float> shadowScores, ReadOnlySpan<float> emittedScores)
        {
            Shadow.AddRange(shadowScores.ToArray());
            Emitted.AddRange(emittedScores.ToArray());
        }
    }
}

using StreamMl.Engine;
using StreamMl.Operators.Scoring;
using StreamMl.Testing;

namespace StreamMl.Operators.Tests.Scoring;

/// <summary>The model stage over any models (<see cref="VariantScoringOperator"/>): which model answers each row, what
/// shadows and labels report, and what is rejected, checked against plain computations over the same rows.</summary>
public sealed class VariantScoringOperatorTests
{
    private static readonly Schema s_input = new(
        new Field("key", ColumnType.String), new Field("x", ColumnType.Float32, Nullable: true), new Field("y", ColumnType.Bool, Nullable: true));

    /// <summary>sigmoid(w·x + b) of column x.</summary>
    private static readonly string[] s_inputs = ["x"];

    private sealed class Logistic(string id, double w, double b) : IScoringModel
    {
        public string Id => id;
        public IReadOnlyList<string> Inputs => s_inputs;
        public int ScorersCreated;
        public double Of(float x) => 1 / (1 + Math.Exp(-(w * x + b)));

        public IRowScorer CreateScorer()
        {
            ScorersCreated++;
            return new Scorer(this);
        }

        private sealed class Scorer(Logistic model) : IRowScorer
        {
            private int _x;
            public IReadOnlyList<string> Inputs => s_inputs;
            public void Bind(Schema schema) => _x = schema.Require("x");

            public void Score(ColumnBatch batch, Span<float> scores)
            {
                var xs = batch[_x].Values<float>();
                for (var row = 0; row < batch.Length; row++) scores[row] = (float)model.Of(xs[row]);
            }
        }
    }

    private sealed class Plans(ScoringPlan plan) : IScoringPlanSource
    {
        public ScoringPlan Plan { get; set; } = plan;
        public long Labelled, Correct, ShadowRows, ShadowAgree;
        public double LogLoss;

        public void RecordLabels(long labelled, long correct, double logLoss)
        {
            Labelled += labelled;
            Correct += correct;
            LogLoss += logLoss;
        }

        public void RecordShadow(long rows, long agree)
        {
            ShadowRows += rows;
            ShadowAgree += agree;
        }
    }

    private static ColumnBatch Batch(Schema schema, int rows, int seed, bool withNulls = false)
    {
        var random = new Random(seed);
        var batch = new ColumnBatch(schema, rows) { Length = rows };
        var keys = batch["key"];
        for (var r = 0; r < rows; r++)
        {
            keys.Values<int>()[r] = keys.Dictionary!.GetOrAdd($"k{random.Next(500)}");
            keys.SetValid(r);
            if (withNulls && r % 11 == 3) batch["x"].SetNull(r);
            else { batch["x"].SetValid(r); batch["x"].Values<float>()[r] = (float)(random.NextDouble() * 8 - 4); }
            if (r % 3 == 0) batch["y"].SetNull(r);
            else { batch["y"].SetValid(r); batch["y"].Values<byte>()[r] = (byte)(random.NextDouble() < 0.4 ? 1 : 0); }
        }
        return batch;
    }

    [Fact]
    public void Keys_split_between_answering_and_candidate_like_the_traffic_split_and_scores_are_the_routed_models()
    {
        var a = new Logistic("a@1", 1.0, 0.2);
        var b = new Logistic("b@1", -0.5, 0.1);
        var plans = new Plans(new ScoringPlan(a, b, 0.3, []));
        var stage = new VariantScoringOperator(new VariantScoringOptions { Plans = plans, KeyColumn = "key" });
        using var batch = Batch(stage.Bind(s_input), 2000, seed: 1);
        stage.Process(batch, StageContext.Standalone("model"));

        // Reference: a key's bucket is the 32-bit FNV-1a of its UTF-16 bytes modulo 10,000; the candidate takes the top 30%.
        static uint Bucket(string key)
        {
            var hash = 2166136261u;
            foreach (var b in System.Text.Encoding.Unicode.GetBytes(key)) hash = (hash ^ b) * 16777619u;
            return hash % 10_000;
        }
        var keys = batch["key"];
        var models = batch["model"];
        var scores = batch["score"].Values<float>();
        var xs = batch["x"].Values<float>();
        var toCandidate = 0;
        for (var row = 0; row < batch.Length; row++)
        {
            var key = keys.Dictionary![keys.Values<int>()[row]];
            var candidate = Bucket(key) >= 7_000;
            var expected = candidate ? b : a;
            Assert.Equal(expected.Id, models.Dictionary![models.Values<int>()[row]]);
            Assert.Equal(expected.Of(xs[row]), scores[row], 1e-6);
            if (candidate) toCandidate++;
        }
        Assert.InRange(toCandidate / (double)batch.Length, 0.2, 0.4);
        Assert.Same(plans.Plan, stage.LastPlan);
    }

    [Fact]
    public void Labels_and_shadow_agreement_match_a_plain_count()
    {
        var a = new Logistic("a@1", 1.0, 0.2);
        var shadow = new Logistic("s@1", 0.7, -0.6);
        var plans = new Plans(new ScoringPlan(a, null, 0, [shadow]));
        var stage = new VariantScoringOperator(new VariantScoringOptions { Plans = plans, LabelColumn = "y" });
        using var batch = Batch(stage.Bind(s_input), 1000, seed: 2);
        for (var r = 0; r < 1000; r += 7) batch.Selection.Deselect(r);
        stage.Process(batch, StageContext.Standalone("model"));

        long labelled = 0, correct = 0, agree = 0, rows = 0;
        var logLoss = 0.0;
        var xs = batch["x"].Values<float>();
        var ys = batch["y"];
        for (var row = 0; row < batch.Length; row++)
        {
            if (!batch.Selection.IsSelected(row)) continue;
            var p = (double)(float)a.Of(xs[row]);
            rows++;
            if ((float)shadow.Of(xs[row]) >= 0.5f == p >= 0.5) agree++;
            if (!ys.IsValid(row)) continue;
            var y = ys.Values<byte>()[row] != 0;
            labelled++;
            if (p >= 0.5 == y) correct++;
            var clamped = Math.Clamp(p, 1e-7, 1 - 1e-7);
            logLoss -= y ? Math.Log(clamped) : Math.Log(1 - clamped);
        }
        Assert.Equal((labelled, correct), (plans.Labelled, plans.Correct));
        Assert.Equal(logLoss, plans.LogLoss, 1e-9);
        Assert.Equal((rows, agree), (plans.ShadowRows, plans.ShadowAgree));
    }

    [Fact]
    public void A_row_with_a_null_input_is_rejected_with_the_input_name_and_the_rest_are_scored()
    {
        var a = new Logistic("a@1", 1.0, 0.2);
        var stage = new VariantScoringOperator(new VariantScoringOptions { Plans = new Plans(new ScoringPlan(a, null, 0, [])) });
        using var batch = Batch(stage.Bind(s_input), 100, seed: 3, withNulls: true);
        var letters = new CollectingDeadLetterSink();
        stage.Process(batch, StageContext.Standalone("model", letters));

        var nulls = Enumerable.Range(0, 100).Where(r => r % 11 == 3).ToArray();
        Assert.Equal(nulls.Length, letters.Count);
        Assert.All(letters.Letters, l => Assert.Equal(("model-input", "model input 'x' is null"), (l.Rule, l.Message)));
        for (var row = 0; row < 100; row++)
            Assert.Equal(!nulls.Contains(row), batch.Selection.IsSelected(row));
    }

    [Fact]
    public void A_pinned_model_answers_every_row_and_a_plan_change_applies_at_the_next_batch()
    {
        var a = new Logistic("a@1", 1.0, 0.2);
        var b = new Logistic("b@1", -0.5, 0.1);
        var plans = new Plans(new ScoringPlan(a, b, 0.5, [], Source: "first"));
        var stage = new VariantScoringOperator(new VariantScoringOptions { Plans = plans, KeyColumn = "key", LabelColumn = "y" });
        using var batch = Batch(stage.Bind(s_input), 300, seed: 4);
        stage.Pinned = b;
        stage.Process(batch, StageContext.Standalone("model"));
        Assert.All(Enumerable.Range(0, 300), r => Assert.Equal("b@1", batch["model"].Dictionary![batch["model"].Values<int>()[r]]));
        Assert.Equal(0, plans.Labelled); // a pinned request is not a labelled observation of the deployment

        stage.Pinned = null;
        plans.Plan = new ScoringPlan(b, null, 0, []);
        stage.Process(batch, StageContext.Standalone("model"));
        var xs = batch["x"].Values<float>();
        for (var r = 0; r < 300; r++) Assert.Equal(b.Of(xs[r]), batch["score"].Values<float>()[r], 1e-6);
        Assert.Equal(1, b.ScorersCreated); // the pinned scorer is reused
    }

    [Fact]
    public void Scoring_with_a_candidate_shadow_and_labels_allocates_nothing_per_batch()
    {
        var a = new Logistic("a@1", 1.0, 0.2);
        var b = new Logistic("b@1", -0.5, 0.1);
        var plans = new Plans(new ScoringPlan(a, b, 0.4, [b]));
        var stage = new VariantScoringOperator(new VariantScoringOptions { Plans = plans, KeyColumn = "key", LabelColumn = "y" });
        using var batch = Batch(stage.Bind(s_input), 1024, seed: 5);
        var context = StageContext.Standalone("model");
        for (var i = 0; i < 3; i++) stage.Process(batch, context);
        Assert.Equal(0, SteadyState.AllocatedBytes(() => stage.Process(batch, context), 50));
    }

    [Fact]
    public void A_key_column_that_is_not_a_string_or_integer_is_refused_with_its_name()
    {
        var stage = new VariantScoringOperator(new VariantScoringOptions
        {
            Plans = new Plans(ScoringPlan.Empty), KeyColumn = "x",
        });
        var error = Assert.Throws<SchemaMismatchException>(() => stage.Bind(s_input));
        Assert.Contains("model key column 'x' is float32", error.Message);
    }
}

using StreamMl.Engine;
using StreamMl.Operators.Learners;
using StreamMl.Operators.Rollouts;
using StreamMl.Operators.Scoring;
using StreamMl.Testing;
using Xunit.Abstractions;

namespace StreamMl.Operators.Tests.Rollouts;

/// <summary>A rollout composed from operators only (no host): a <see cref="ScoringOperator"/> answers with the champion,
/// a <see cref="RolloutOperator"/> after it (and as its shadow recorder) feeds the rollout, and a
/// <see cref="ScoringRolloutTarget"/> moves the traffic. On generated rows whose label depends on x0 and x1, a candidate
/// that uses both is promoted through shadow, 5 % and 25 %; a candidate that learned noise is rolled back in shadow,
/// with the label guardrails as the reason. Time is a manual clock: 30 s per batch of 1,000 rows.</summary>
public sealed class RolloutScoringTests(ITestOutputHelper output)
{
    private static readonly RolloutOptions s_options = new()
    {
        Steps = [0, 0.05, 0.25],
        MinRows = 400,
        MinDuration = TimeSpan.FromMinutes(2),
        MaxDuration = TimeSpan.FromMinutes(60),
        MinLabels = 300,
        // Labels decide here: a better model's scores spread wider than the champion's, which a tight score-drift
        // limit would also (rightly) flag. The drift guardrails have their own tests.
        MaxScorePsi = 10,
        MaxScoreKs = 1,
    };

    [Fact]
    public void A_better_candidate_is_promoted_and_a_worse_one_rolled_back_with_its_reason()
    {
        using var champion = OnnxModel.FromBytes(Train(seed: 1, useX0: true, useX1: false), "champion");
        using var better = OnnxModel.FromBytes(Train(seed: 2, useX0: true, useX1: true), "better");
        using var worse = OnnxModel.FromBytes(Train(seed: 3, useX0: false, useX1: false), "worse");

        var (promoted, promotedScorer) = Run(champion, better, seed: 10);
        Assert.Equal(RolloutPhase.Promoted, promoted.Current.Phase);
        Assert.Equal(["shadow", "canary", "canary", "promoted"], promoted.History.Select(t => t.Action));
        Assert.Equal([0, 0.05, 0.25, 1], promoted.History.Select(t => t.Weight));
        Assert.Equal([better], promotedScorer.Variants.Select(v => v.Model));
        Assert.Empty(promotedScorer.Shadows);
        var final = promoted.Current.Report!;
        Assert.True(final.Checks.Single(c => c.Name == "label-metric").Value < 0, "the better model's AUC should be higher");

        var (rolledBack, rolledBackScorer) = Run(champion, worse, seed: 11);
        Assert.Equal(RolloutPhase.RolledBack, rolledBack.Current.Phase);
        Assert.Equal(["shadow", "rolled-back"], rolledBack.History.Select(t => t.Action));
        var failed = rolledBack.Current.Report!.Checks.Where(c => !c.Passed).Select(c => c.Name).ToArray();
        Assert.Contains("label-test", failed);
        Assert.Contains("label-metric", failed);
        Assert.Contains("AUC", rolledBack.Current.Reason);
        Assert.Equal([champion], rolledBackScorer.Variants.Select(v => v.Model));
        Assert.Empty(rolledBackScorer.Shadows);
    }

    [Fact]
    public void Feeding_the_rollout_allocates_nothing_per_batch()
    {
        using var champion = OnnxModel.FromBytes(Train(seed: 1, useX0: true, useX1: false), "champion");
        using var candidate = OnnxModel.FromBytes(Train(seed: 2, useX0: true, useX1: true), "candidate");
        var observer = new RolloutOperator("probability", labelColumn: "y");
        using var scorer = new ScoringOperator(champion, new ScoringOptions { FeatureColumns = ["x0", "x1", "x2"], RoutingKeyColumn = "id", ShadowRecorder = observer, ShadowScoreColumn = "probability" });
        var schema = observer.Bind(scorer.Bind(InputSchema));
        using var batch = new ColumnBatch(schema, 1000);
        Fill(batch, new Random(1), 0);
        var rollout = new Rollout("champion", "candidate", s_options, new ScoringRolloutTarget(scorer, champion, candidate), new ManualClock());
        observer.Active = rollout;
        var context = StageContext.Standalone("rollout");
        scorer.SetShadows();
        scorer.SetVariants((champion, 0.75), (candidate, 0.25));
        scorer.Score(batch);

        Assert.Equal(0, SteadyState.AllocatedBytes(() => observer.Process(batch, context), iterations: 20));
        Assert.Equal(0, SteadyState.AllocatedBytes(() => observer.Record(candidate, batch, batch.Values<float>(schema.IndexOf("probability")), batch.Values<float>(schema.IndexOf("probability"))), iterations: 20));
    }

    private (Rollout Rollout, ScoringOperator Scorer) Run(OnnxModel champion, OnnxModel candidate, int seed)
    {
        var observer = new RolloutOperator("probability", labelColumn: "y");
        var scorer = new ScoringOperator(champion, new ScoringOptions { FeatureColumns = ["x0", "x1", "x2"], RoutingKeyColumn = "id", ShadowRecorder = observer, ShadowScoreColumn = "probability" });
        var schema = observer.Bind(scorer.Bind(InputSchema));
        var clock = new ManualClock();
        var rollout = new Rollout(champion.Name, candidate.Name, s_options, new ScoringRolloutTarget(scorer, champion, candidate), clock);
        observer.Active = rollout;
        var random = new Random(seed);
        var context = StageContext.Standalone("rollout");
        using var batch = new ColumnBatch(schema, 1000);
        for (var i = 0; i < 400 && !rollout.IsFinished; i++)
        {
            Fill(batch, random, i * 1000L);
            scorer.Score(batch);
            observer.Process(batch, context);
            clock.Advance(TimeSpan.FromSeconds(30));
            rollout.Tick();
        }
        var start = rollout.History[0].At;
        foreach (var t in rollout.History)
            output.WriteLine($"{candidate.Name}: +{(t.At - start).TotalMinutes,5:F1} min {t.Action,-11} {t.Weight,5:P0} {t.Reason}");
        return (rollout, scorer);
    }

    private static readonly Schema InputSchema = new(
        new Field("id", ColumnType.Int64), new Field("x0", ColumnType.Float32), new Field("x1", ColumnType.Float32),
        new Field("x2", ColumnType.Float32), new Field("y", ColumnType.Float32));

    /// <summary>Rows with x0, x1, x2 uniform on [0, 1) and y = 1 with probability sigmoid(4·(x0 + x1 − 1)).</summary>
    private static void Fill(ColumnBatch batch, Random random, long firstId)
    {
        batch.Length = batch.Capacity;
        var id = batch["id"].Values<long>();
        Span<float> x0 = batch["x0"].Values<float>(), x1 = batch["x1"].Values<float>(), x2 = batch["x2"].Values<float>(), y = batch["y"].Values<float>();
        for (var r = 0; r < batch.Length; r++)
        {
            id[r] = firstId + r;
            x0[r] = random.NextSingle();
            x1[r] = random.NextSingle();
            x2[r] = random.NextSingle();
            y[r] = random.NextDouble() < 1 / (1 + Math.Exp(-4 * (x0[r] + x1[r] - 1))) ? 1 : 0;
        }
    }

    /// <summary>A logistic regression on 3,000 generated rows; a feature it should not use is replaced by noise.</summary>
    private static byte[] Train(int seed, bool useX0, bool useX1)
    {
        var random = new Random(seed);
        const int rows = 3000, features = 3;
        var x = new float[rows * features];
        var y = new float[rows];
        for (var i = 0; i < rows; i++)
        {
            float x0 = random.NextSingle(), x1 = random.NextSingle(), x2 = random.NextSingle();
            y[i] = random.NextDouble() < 1 / (1 + Math.Exp(-4 * (x0 + x1 - 1))) ? 1 : 0;
            x[i * features] = useX0 ? x0 : random.NextSingle();
            x[i * features + 1] = useX1 ? x1 : random.NextSingle();
            x[i * features + 2] = x2;
        }
        var model = new MlNetLearner(LearningTask.Binary, new LearnerOptions { Trainer = "lr" }).Fit(new TrainingSet(x, features, y));
        using var stream = new MemoryStream();
        model.ExportOnnx(stream);
        return stream.ToArray();
    }
}

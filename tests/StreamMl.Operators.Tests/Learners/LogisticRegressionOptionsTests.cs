using StreamMl.Engine;
using StreamMl.Operators.Learners;

namespace StreamMl.Operators.Tests.Learners;

/// <summary>The lr trainer's <see cref="LearnerOptions.L1Regularization"/> and <see cref="LearnerOptions.Normalize"/>
/// against a logistic regression fitted in the test.</summary>
public sealed class LogisticRegressionOptionsTests
{
    private const int Rows = 600;
    private const int Columns = 5;

    /// <summary>Columns of very different scales (a 0/1 indicator, a rare indicator, a wide number, two noise columns)
    /// and labels drawn from a known logistic model.</summary>
    private static TrainingSet Data()
    {
        var random = new Random(3);
        var features = new float[Rows * Columns];
        var labels = new float[Rows];
        for (var r = 0; r < Rows; r++)
        {
            var row = features.AsSpan(r * Columns, Columns);
            row[0] = random.NextDouble() < 0.5 ? 1 : 0;
            row[1] = random.NextDouble() < 0.05 ? 1 : 0;
            row[2] = (float)(50 * random.NextDouble());
            row[3] = (float)(random.NextDouble() - 0.5);
            row[4] = (float)(3 * random.NextDouble());
            var logit = -0.5 + 1.2 * row[0] + 1.5 * row[1] + 0.04 * row[2];
            labels[r] = random.NextDouble() < 1 / (1 + Math.Exp(-logit)) ? 1 : 0;
        }
        return new TrainingSet(features, Columns, labels);
    }

    [Theory]
    [InlineData(0f, 1f)]
    [InlineData(0f, 20f)]
    [InlineData(3f, 1f)]
    [InlineData(15f, 5f)]
    public void Without_the_normaliser_lr_minimises_the_penalised_log_loss_of_the_raw_features(float l1, float l2)
    {
        var set = Data();
        var model = new MlNetLearner(LearningTask.Binary, new LearnerOptions { Trainer = "lr", L1Regularization = l1, L2Regularization = l2, Normalize = false })
            .Fit(set);
        var (weights, bias) = ReferenceFit(set, l1, l2);
        var predictions = model.Predict(set);
        for (var r = 0; r < Rows; r++)
        {
            var score = bias;
            for (var c = 0; c < Columns; c++) score += weights[c] * set.Row(r)[c];
            Assert.Equal(1 / (1 + Math.Exp(-score)), predictions[r], 2e-3);
        }
    }

    [Fact]
    public void A_large_l1_leaves_only_the_bias()
    {
        var set = Data();
        var predictions = new MlNetLearner(LearningTask.Binary, new LearnerOptions { Trainer = "lr", L1Regularization = 1e4f, Normalize = false })
            .Fit(set).Predict(set);
        var rate = set.Labels.Average();
        Assert.All(predictions, p => Assert.Equal(rate, p, 1e-3));
    }

    [Fact]
    public void The_normaliser_makes_the_fit_independent_of_a_columns_scale_and_without_it_the_scale_matters()
    {
        var set = Data();
        var stretched = new TrainingSet(set.Features.Select((v, i) => i % Columns == 1 ? v * 100 : v).ToArray(), Columns, set.Labels);
        float[] Fit(TrainingSet s, bool normalize) =>
            new MlNetLearner(LearningTask.Binary, new LearnerOptions { Trainer = "lr", L1Regularization = 0, L2Regularization = 5, Normalize = normalize })
                .Fit(s).Predict(s);
        var normalized = Fit(set, true);
        var normalizedStretched = Fit(stretched, true);
        for (var r = 0; r < Rows; r++) Assert.Equal(normalized[r], normalizedStretched[r], 1e-3);
        // Without it, the rare indicator times 100 needs a weight 100 times smaller, which the L2 penalty barely touches.
        var raw = Fit(set, false);
        var rawStretched = Fit(stretched, false);
        Assert.True(Enumerable.Range(0, Rows).Max(r => Math.Abs(raw[r] - rawStretched[r])) > 0.01);
    }

    /// <summary>Minimises F(w, b) = Σ log(1 + e^(−y·s)) + l1·|w|₁ + l2/2·|w|² (the bias b not penalised) by proximal Newton:
    /// each step minimises the quadratic model of the log loss plus the penalties by exact coordinate descent, then
    /// halves the step until F decreases.</summary>
    private static (double[] Weights, double Bias) ReferenceFit(TrainingSet set, double l1, double l2)
    {
        const int n = Columns + 1; // the bias last
        var w = new double[n];
        double Objective(double[] v)
        {
            var total = 0.0;
            for (var r = 0; r < set.Rows; r++)
            {
                var margin = (set.Labels[r] > 0.5 ? 1 : -1) * Score(set.Row(r), v);
                total += margin > 0 ? Math.Log(1 + Math.Exp(-margin)) : -margin + Math.Log(1 + Math.Exp(margin));
            }
            for (var c = 0; c < Columns; c++) total += l1 * Math.Abs(v[c]) + l2 / 2 * v[c] * v[c];
            return total;
        }
        for (var outer = 0; outer < 100; outer++)
        {
            var g = new double[n];
            var h = new double[n, n];
            for (var r = 0; r < set.Rows; r++)
            {
                var row = set.Row(r);
                var p = 1 / (1 + Math.Exp(-Score(row, w)));
                for (var i = 0; i < n; i++)
                {
                    var xi = i < Columns ? row[i] : 1.0;
                    g[i] += (p - set.Labels[r]) * xi;
                    for (var j = 0; j < n; j++) h[i, j] += p * (1 - p) * xi * (j < Columns ? row[j] : 1.0);
                }
            }
            for (var c = 0; c < Columns; c++) { g[c] += l2 * w[c]; h[c, c] += l2; }
            var d = new double[n];
            for (var sweep = 0; sweep < 500; sweep++)
            {
                for (var j = 0; j < n; j++)
                {
                    var b = g[j];
                    for (var k = 0; k < n; k++) if (k != j) b += h[j, k] * d[k];
                    var unpenalised = w[j] - b / h[j, j];
                    var z = j == Columns ? unpenalised : Math.Sign(unpenalised) * Math.Max(0, Math.Abs(unpenalised) - l1 / h[j, j]);
                    d[j] = z - w[j];
                }
            }
            var before = Objective(w);
            for (var t = 1.0; t > 1e-6; t /= 2)
            {
                var candidate = w.Select((v, i) => v + t * d[i]).ToArray();
                if (Objective(candidate) <= before) { w = candidate; break; }
            }
        }
        return (w[..Columns], w[Columns]);
    }

    private static double Score(ReadOnlySpan<float> row, double[] v)
    {
        var score = v[Columns];
        for (var c = 0; c < Columns; c++) score += v[c] * row[c];
        return score;
    }
}

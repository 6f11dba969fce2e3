using StreamMl.Engine;
using StreamMl.Operators.Metrics;
using StreamMl.Operators.Tests.Drift;

namespace StreamMl.Operators.Tests.Metrics;

/// <summary>Two real pipelines running at once, one scoring and one reading outcomes, feed one <see cref="StreamingMetrics"/>.</summary>
public sealed class MetricsPipelineTests
{
    [Fact]
    public async Task PredictionAndLabelPipelinesRunConcurrentlyAndJoinLikeABatchJoin()
    {
        const int rows = 50_000;
        const long bound = 10_000;
        var rng = new Random(9);
        var score = new float[rows];
        var truth = new bool[rows];
        var labelDelay = new long[rows];
        for (var i = 0; i < rows; i++)
        {
            truth[i] = rng.NextDouble() < 0.4;
            score[i] = (float)Math.Clamp(rng.NextDouble() * 0.8 + (truth[i] ? 0.2 : 0), 0, 1);
            labelDelay[i] = rng.NextDouble() < 0.85 ? rng.Next((int)bound) : bound + 1 + rng.Next(5000);
        }
        // Labels are delivered in event-time order, as an outcome topic would be.
        var labelOrder = Enumerable.Range(0, rows).OrderBy(i => i * 10L + labelDelay[i]).ToArray();

        var predictionSchema = new Schema(new Field("id", ColumnType.Int32), new Field("p", ColumnType.Float32), new Field("variant", ColumnType.String));
        var labelSchema = new Schema(new Field("id", ColumnType.Int32), new Field("y", ColumnType.Bool));
        var metrics = new StreamingMetrics(new StreamingMetricsOptions { TimeBound = TimeSpan.FromMicroseconds(bound) });

        var predictions = Pipeline.From(new RowsSource(predictionSchema, rows, (batch, slot, row) =>
            {
                batch[0].Values<int>()[slot] = row;
                batch[1].Values<float>()[slot] = score[row];
                batch[2].Values<int>()[slot] = batch[2].Dictionary!.GetOrAdd(row % 4 == 0 ? "shadow" : "main");
            }, row => row * 10L), new PipelineOptions { Name = "scoring", BatchCapacity = 1000 })
            .Then(new PredictionMetricsOperator(metrics, "id", "p", "variant")).To().Build();
        var labels = Pipeline.From(new RowsSource(labelSchema, rows, (batch, slot, row) =>
            {
                var id = labelOrder[row];
                batch[0].Values<int>()[slot] = id;
                batch[1].Values<byte>()[slot] = truth[id] ? (byte)1 : (byte)0;
            }, row => labelOrder[row] * 10L + labelDelay[labelOrder[row]]), new PipelineOptions { Name = "outcomes", BatchCapacity = 700 })
            .Then(new LabelMetricsOperator(metrics, "id", "y")).To().Build();
        await using (predictions)
        await using (labels)
            await Task.WhenAll(predictions.RunAsync(), labels.RunAsync());
        metrics.AdvanceLabelWatermark(long.MaxValue);
        metrics.AdvancePredictionWatermark(long.MaxValue);

        var report = metrics.GetReport();
        var joined = Enumerable.Range(0, rows).Where(i => labelDelay[i] <= bound).ToList();
        Assert.Equal(joined.Count, report.Matched);
        Assert.Equal(rows, report.Matched + report.ExpiredPredictions);
        foreach (var variant in new[] { "main", "shadow" })
        {
            var pairs = joined.Where(i => (i % 4 == 0 ? "shadow" : "main") == variant).Select(i => ((double)score[i], truth[i])).ToList();
            var v = report.For(variant)!;
            var (tp, fp, tn, fn, logLoss) = MetricsReference.Confusion(pairs, 0.5);
            Assert.Equal((tp, fp, tn, fn), (v.TruePositives!.Value, v.FalsePositives!.Value, v.TrueNegatives!.Value, v.FalseNegatives!.Value));
            Assert.Equal(logLoss, v.LogLoss!.Value, tolerance: 1e-9);
            Assert.InRange(v.RocAuc!.Value, MetricsReference.ExactAuc(pairs) - v.RocAucErrorBound!.Value - 1e-12,
                MetricsReference.ExactAuc(pairs) + v.RocAucErrorBound.Value + 1e-12);
        }
    }
}

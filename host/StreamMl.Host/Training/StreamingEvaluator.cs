using StreamMl.Engine;
using StreamMl.Operators.Learners;

namespace StreamMl.Host.Training;

/// <summary>Scores rows with a registered model through a real engine pipeline: table source → the model's fitted
/// feature pipeline (as an operator) → the scoring operator → a collecting sink.</summary>
internal static class StreamingEvaluator
{
    /// <summary>Scores and predictions per row, in row order, and the file line of each row.</summary>
    public sealed record Result(float[] Scores, float[] Predictions, long[] Lines, IReadOnlyList<DeadLetter> DeadLetters);

    public static async Task<Result> RunAsync(RegisteredModel model, DataTable table, IReadOnlyList<int>? rows, CancellationToken cancellationToken)
    {
        var inputs = model.Features.Inputs.Select(f => f.Name).ToArray();
        foreach (var name in inputs) table.Require(name, $"model input");
        var source = new DataTableSource(table, inputs, rows);
        var sink = new CollectingSink();
        var deadLetters = new CollectingDeadLetterSink();
        using (var scoring = model.CreateScoringOperators())
        {
            // A clone of the fitted pipeline: an operator binds to one pipeline's schema.
            var builder = Pipeline.From(source, new PipelineOptions { Name = "evaluate", DeadLetters = deadLetters, ErrorPolicy = ErrorPolicy.Stop })
                .Then(model.Features.Clone());
            foreach (var op in scoring.Operators) builder = builder.Then(op);
            await using var pipeline = builder.To(sink).Build();
            await pipeline.RunAsync(cancellationToken);
        }

        return new Result(sink.Scores.ToArray(), sink.Predictions.ToArray(), sink.Lines.ToArray(), deadLetters.Letters.ToArray());
    }

    public static EvaluationMetrics Metrics(LearningTask task, float[] labels, Result result, double threshold, int classes) =>
        task == LearningTask.Multiclass
            ? MulticlassFromPredictions(labels, result.Predictions, classes)
            : CrossValidator.Score(task, labels, result.Scores, classes, threshold);

    // The streaming operator keeps only the arg-max class for multiclass models, so these metrics use the predicted class.
    private static EvaluationMetrics MulticlassFromPredictions(float[] labels, float[] predictions, int classes)
    {
        var onehot = new float[labels.Length * classes];
        for (var i = 0; i < labels.Length; i++) onehot[i * classes + (int)predictions[i]] = 1;
        var metrics = Evaluate.Multiclass(labels, onehot, classes);
        var values = metrics.Values.Where(kv => kv.Key != MetricNames.LogLoss).ToDictionary(kv => kv.Key, kv => kv.Value);
        return new EvaluationMetrics(values, metrics.ConfusionMatrix);
    }

    private sealed class CollectingSink : IBatchSink
    {
        private int _score;
        private int _prediction;
        public List<float> Scores { get; } = [];
        public List<float> Predictions { get; } = [];
        public List<long> Lines { get; } = [];
        public string Name => "collect";

        public ValueTask OpenAsync(SinkContext context, CancellationToken cancellationToken)
        {
            _score = context.Schema.Require("decision_score", ColumnType.Float32);
            _prediction = context.Schema.Require("prediction", ColumnType.Float32);
            return ValueTask.CompletedTask;
        }

        public void Write(ColumnBatch batch, long sequence)
        {
            var scores = batch.Values<float>(_score);
            var predictions = batch.Values<float>(_prediction);
            for (var r = 0; r < batch.Length; r++)
            {
                if (!batch.Selection.IsSelected(r)) continue;
                Scores.Add(scores[r]);
                Predictions.Add(predictions[r]);
                Lines.Add(batch.RowOffsets[r]);
            }
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}

using StreamMl.Engine;
using StreamMl.Operators.Scoring;
using StreamMl.Operators.Tests.Features;

namespace StreamMl.Operators.Tests.Scoring;

/// <summary>The feature pipeline and the scorer as stages of a real engine pipeline (ring buffer, stage threads):
/// the scores the sink receives equal ONNX Runtime's own Run on the same rows, and the fitted feature pipeline
/// loaded back from JSON serves the same scores.</summary>
[Collection(CreditModelsCollection.Name)]
public sealed class PipelineScoringTests(CreditModels credit)
{
    [Fact]
    public async Task Source_features_score_sink_in_an_engine_pipeline_equals_OnnxRuntime()
    {
        var dir = Directory.CreateTempSubdirectory("streamml-scoring-");
        try
        {
            var featuresPath = Path.Combine(dir.FullName, "features.json");
            credit.Features.Save(featuresPath);
            var features = Operators.Features.FeaturePipeline.Load(featuresPath);
            using var model = credit.Load("lightgbm");
            using var scorer = new ScoringOperator(model, new ScoringOptions { FeatureColumns = features.OutputColumns });
            var sink = new ScoreSink();
            await using (var pipeline = Pipeline.From(new RowsSource(credit.Raw), new PipelineOptions { Name = "credit", BatchCapacity = 1024 })
                .Then(features).Then(scorer).To(sink).Build())
            {
                await pipeline.RunAsync();
            }
            var expected = credit.ReferenceRunBatched("lightgbm", 1024, CreditModels.Rows);
            Assert.Equal(expected.Score, sink.Scores);
            Assert.Equal(expected.Probability, sink.Probabilities);
        }
        finally { dir.Delete(recursive: true); }
    }

    /// <summary>Replays the rows of a list of batches in batches of the pipeline's capacity, columns matched by name.</summary>
    internal sealed class RowsSource(List<ColumnBatch> rows) : IBatchSource
    {
        private readonly (ColumnBatch Batch, int Row)[] _rows = rows.SelectMany(b => Enumerable.Range(0, b.Length).Select(r => (b, r))).ToArray();
        private int _next;

        public string Name => "rows";

        public Schema Schema => rows[0].Schema;

        public ValueTask OpenAsync(SourceContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask<bool> FillAsync(ColumnBatch batch, CancellationToken cancellationToken)
        {
            var n = Math.Min(batch.Capacity, _rows.Length - _next);
            var columns = Schema.Select(f => batch.Schema.Require(f.Name)).ToArray();
            for (var i = 0; i < n; i++)
            {
                var (source, row) = _rows[_next + i];
                for (var c = 0; c < columns.Length; c++) batch[columns[c]].CopyRow(source[c], row, i);
                batch.RowOffsetsBuffer[i] = _next + i + 2;
            }
            batch.Length = n;
            _next += n;
            return ValueTask.FromResult(_next < _rows.Length);
        }

        public void Commit(ReadOnlySpan<SourceRange> ranges) { }

        public string Describe(int partition, long offset) => $"credit row line {offset}";

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    internal sealed class ScoreSink : IBatchSink
    {
        public List<float> Scores { get; } = [];
        public List<float> Probabilities { get; } = [];

        public string Name => "scores";

        public ValueTask OpenAsync(SinkContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public void Write(ColumnBatch batch, long sequence)
        {
            var score = batch["score"].Values<float>();
            var probability = batch["probability"].Values<float>();
            for (var r = 0; r < batch.Length; r++)
            {
                if (!batch.Selection.IsSelected(r)) continue;
                Scores.Add(score[r]);
                Probabilities.Add(probability[r]);
            }
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}

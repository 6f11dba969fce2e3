using StreamMl.Engine;
using StreamMl.Host.Models;
using StreamMl.Host.Pipelines;
using StreamMl.Host.Specs;
using StreamMl.Host.Tests.Training;
using StreamMl.Host.Training;
using StreamMl.Operators.Rollouts;

namespace StreamMl.Host.Tests.Rollouts;

/// <summary>Guardrail labels arrive on the scored rows: a spec's <c>model.label</c> names a column that holds the
/// outcome where it is known and is empty (null) where it is not yet; the model stage compiled from the spec feeds the
/// spec's rollout with every labelled row, and the label guardrail's AUCs are the exact AUCs of the champion's and the
/// candidate's own scores on those rows (computed here by counting pairs), to within the score histogram's bin width.</summary>
public sealed class LabelledStreamRolloutTests : IDisposable
{
    private readonly string _folder = TrainingTestData.TempFolder();

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task A_label_column_with_unlabelled_rows_feeds_the_rollouts_label_metrics_from_the_spec()
    {
        var root = await RolloutTestData.TrainGen(_folder);
        var stream = RolloutTestData.WriteRows(Path.Combine(_folder, "stream.csv"), 6000, seed: 5, labelEvery: 3);
        var catalog = new ModelCatalog();
        RegistryModels.Attach(catalog, root);
        var spec = new SpecCompiler(ComponentRegistry.CreateDefault(), catalog).Compile("""
            name: labelled
            source: { kind: file, path: stream.csv, columns: { id: int64, x0: float64, x1: float64, x2: float64, y: float64 } }
            model:
              name: gen
              label: y
              rollout: { candidate: "2", steps: [0], min_rows: 1000000, min_labels: 100, max_duration: 10h }
            """, _folder);
        var runtime = new PipelineRuntime("labelled", catalog);
        IBatchOperator router = CompiledSpec.Create(spec.Operators.Single(o => o.Kind == "model"), runtime);
        using var _ = runtime.Models.Follower;
        var rollout = runtime.Models.Rollout!.Rollout;
        Assert.Equal(RolloutPhase.Shadow, rollout.Current.Phase);

        var table = (await DataTableReader.ReadAsync(stream, 0, CancellationToken.None)).Table;
        var schema = router.Bind(table.SchemaOf(["id", "x0", "x1", "x2", "y"]));
        var candidate = catalog.Require("gen", "2").CreateScorer();
        candidate.Bind(schema);
        var champion = new List<(double Score, double Label)>();
        var challenger = new List<(double Score, double Label)>();
        using var batch = new ColumnBatch(schema, 1000);
        var rows = Enumerable.Range(0, table.Rows).ToArray();
        var candidateScores = new float[batch.Capacity];
        for (var next = 0; next < rows.Length;)
        {
            batch.Reset();
            next += table.Fill(batch, rows, next);
            router.Process(batch, StageContext.Standalone("model"));
            candidate.Score(batch, candidateScores);
            var label = batch[schema.IndexOf("y")];
            var scores = batch[schema.IndexOf("score")].Values<float>();
            for (var row = 0; row < batch.Length; row++)
            {
                if (!label.IsValid(row)) continue;
                champion.Add((scores[row], label.Values<double>()[row]));
                challenger.Add((candidateScores[row], label.Values<double>()[row]));
            }
        }

        Assert.Equal(2000, champion.Count);
        Assert.Equal((6000L, 2000L), rollout.Seen(RolloutRole.Champion));
        Assert.Equal((6000L, 2000L), rollout.Seen(RolloutRole.Candidate));
        var metric = rollout.Peek().Checks.Single(c => c.Name == "label-metric");
        Assert.False(metric.Skipped);
        var (championAuc, candidateAuc) = (ExactAuc(champion), ExactAuc(challenger));
        Assert.True(candidateAuc > championAuc + 0.02, $"v2 should beat v1 on these rows: {candidateAuc} vs {championAuc}");
        Assert.Equal(championAuc - candidateAuc, metric.Value, 0.002);
        Assert.Contains($"over 2000 and 2000 labelled rows", metric.Message);
    }

    /// <summary>P(score of a random positive > score of a random negative), ties half: by counting every pair.</summary>
    private static double ExactAuc(List<(double Score, double Label)> rows)
    {
        var positives = rows.Where(r => r.Label >= 0.5).Select(r => r.Score).ToArray();
        var negatives = rows.Where(r => r.Label < 0.5).Select(r => r.Score).ToArray();
        double wins = 0;
        foreach (var p in positives)
            foreach (var n in negatives)
                wins += p > n ? 1 : p == n ? 0.5 : 0;
        return wins / ((double)positives.Length * negatives.Length);
    }
}

using StreamMl.Engine;
using StreamMl.Host.Models;
using StreamMl.Host.Pipelines;
using StreamMl.Host.Registry;
using StreamMl.Host.Training;

namespace StreamMl.Host.Tests.Training;

/// <summary>The host's model stage with registry versions (primary, an A/B candidate and a shadow): every row gets the
/// score of the version it was routed to, equal to that version's own matrix prediction (ONNX Runtime's plain Run, a
/// separate path), and once warm a batch allocates nothing, because the versions score through the operators'
/// ScoringOperator (IO binding over pinned buffers).</summary>
public sealed class RegistryRoutingTests : IDisposable
{
    private readonly string _folder = TrainingTestData.TempFolder();

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task Registry_versions_routed_by_the_host_score_like_their_models_and_allocate_nothing_per_batch()
    {
        await TrainingRunner.RunAsync(TrainSpec.Load(TrainingTestData.CreditSpec(_folder, limit: 1500, trees: 10)));
        await TrainingRunner.RunAsync(TrainSpec.Load(TrainingTestData.CreditSpec(_folder, limit: 1500, trees: 4)));
        var registry = new ModelRegistry(Path.Combine(_folder, "models"));
        var catalog = new ModelCatalog();
        RegistryModels.Attach(catalog, registry.Root);
        var v1 = catalog.Require("credit", "1");
        var v2 = catalog.Require("credit", "2");

        var deployments = new ModelDeployments();
        deployments.Deploy(v1, 1);
        deployments.Deploy(v2, 0.4);
        deployments.SetShadows([v2]);
        var router = ScoringStage.Create(deployments, "score", keyColumn: null, labelColumn: null);

        var table = (await DataTableReader.ReadAsync(TrainingTestData.Credit, 1500, CancellationToken.None)).Table;
        var schema = router.Bind(table.SchemaOf(v1.Inputs));
        using var batch = new ColumnBatch(schema, 1024);
        var rows = Enumerable.Range(0, 1024).ToArray();
        table.Fill(batch, rows, 0);
        var context = StageContext.Standalone("model");

        for (var i = 0; i < 3; i++) router.Process(batch, context);
        var allocated = SteadyState.AllocatedBytes(() => router.Process(batch, context), 20);

        using var model1 = RegisteredModel.Load(registry.Open("credit", 1));
        using var model2 = RegisteredModel.Load(registry.Open("credit", 2));
        var expected1 = model1.PredictMatrix(table, rows);
        var expected2 = model2.PredictMatrix(table, rows);
        var scores = batch["score"].Values<float>();
        var models = batch["model"];
        var routed = new Dictionary<string, int>();
        for (var r = 0; r < batch.Length; r++)
        {
            var id = models.Dictionary![models.Values<int>()[r]];
            routed[id] = routed.GetValueOrDefault(id) + 1;
            var expected = id == "credit@1" ? expected1[r] : expected2[r];
            Assert.True(Math.Abs(expected - scores[r]) < 1e-5, $"row {r} ({id}): expected {expected}, got {scores[r]}");
        }
        Assert.InRange(routed.GetValueOrDefault("credit@2") / (double)batch.Length, 0.3, 0.5);
        Assert.True(deployments.Metrics().ShadowRows > 0);
        Assert.Equal(0, allocated);
    }
}

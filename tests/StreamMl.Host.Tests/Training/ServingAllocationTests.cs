using StreamMl.Engine;
using StreamMl.Host.Registry;
using StreamMl.Host.Training;

namespace StreamMl.Host.Tests.Training;

public sealed class ServingAllocationTests : IDisposable
{
    private readonly string _folder = TrainingTestData.TempFolder();

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task A_registered_model_scores_batches_without_allocating_in_steady_state()
    {
        await TrainingRunner.RunAsync(TrainSpec.Load(TrainingTestData.CreditSpec(_folder, limit: 1500, trees: 10)));
        using var model = RegisteredModel.Load(new ModelRegistry(Path.Combine(_folder, "models")).Open("credit", 1));
        var table = (await DataTableReader.ReadAsync(TrainingTestData.Credit, 1500, CancellationToken.None)).Table;
        using var stages = model.CreateScoringOperators();
        var features = model.Features.Clone();
        var schema = table.SchemaOf(model.Features.Inputs.Select(f => f.Name));
        schema = features.Bind(schema);
        foreach (var op in stages.Operators) schema = op.Bind(schema);
        using var batch = new ColumnBatch(schema, 1024);
        table.Fill(batch, Enumerable.Range(0, table.Rows).ToArray(), 0);
        var context = StageContext.Standalone("score");

        var operators = stages.Operators.ToArray();
        void Score()
        {
            features.Process(batch, context);
            // Indexing, not foreach: an interface enumerator would be the only allocation here.
            for (var i = 0; i < operators.Length; i++) operators[i].Process(batch, context);
        }

        for (var i = 0; i < 5; i++) Score();
        Assert.Equal(0, SteadyState.AllocatedBytes(Score));
        // And the decision column holds the thresholded probabilities.
        var probability = batch.Values<float>(schema.IndexOf("probability"));
        var prediction = batch.Values<float>(schema.IndexOf("prediction"));
        for (var r = 0; r < batch.Length; r++) Assert.Equal(probability[r] >= model.Threshold ? 1f : 0f, prediction[r]);
    }
}

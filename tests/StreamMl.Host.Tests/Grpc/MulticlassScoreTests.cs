using System.Globalization;
using Grpc.Net.Client;
using StreamMl.Engine;
using StreamMl.Host.Hosting;
using StreamMl.Host.Protos;
using StreamMl.Host.Registry;
using StreamMl.Host.Tests.Training;
using StreamMl.Host.Training;

namespace StreamMl.Host.Tests.Grpc;

/// <summary>A registered multiclass model served by the host: Score returns one probability per class in the order
/// DescribeModel lists the class names, equal to what ONNX Runtime computes for the same rows outside the host, and
/// the arg-max class's name as the label.</summary>
public sealed class MulticlassScoreTests : IDisposable
{
    private readonly string _folder = TrainingTestData.TempFolder();

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task Score_returns_every_class_probability_and_the_best_class_name()
    {
        var registry = Path.Combine(_folder, "models");
        var path = TrainingTestData.Write(_folder, "proximity.yaml", $"""
            name: proximity
            data: {"{"} path: {TrainingTestData.Housing}, limit: 2000 {"}"}
            target: ocean_proximity
            task: multiclass
            trainer: lightgbm
            hyperparameters: {"{"} trees: 10 {"}"}
            validation: {"{"} folds: 2 {"}"}
            registry: {"{"} path: {registry} {"}"}
            """);
        await TrainingRunner.RunAsync(TrainSpec.Load(path));
        using var model = RegisteredModel.Load(new ModelRegistry(registry).Open("proximity", 1));
        var inputs = model.Features.Inputs;

        await using var server = await StreamMlServer.StartAsync(new StreamMlOptions { Port = 0, MetricsPort = -1, RegistryPath = registry });
        using var channel = GrpcChannel.ForAddress(server.Address);
        var columns = string.Join(", ", inputs.Select(f => $"{f.Name}: {ColumnTypes.Name(f.Type)}"));
        await new Control.ControlClient(channel).CreatePipelineAsync(new CreatePipelineRequest
        {
            Spec = $$"""
                name: classes
                source: { kind: grpc, columns: { {{columns}} } }
                model: { kind: registry, name: proximity }
                sinks: [ { kind: memory } ]
                """,
            Start = true,
        });
        var dataPlane = new DataPlane.DataPlaneClient(channel);
        var description = await dataPlane.DescribeModelAsync(new DescribeModelRequest { Pipeline = "classes" });
        var info = Assert.Single(description.Models);
        Assert.Equal(("multiclass", "onnx"), (info.Task, info.Kind));

        var table = (await DataTableReader.ReadAsync(TrainingTestData.Housing, 2000, CancellationToken.None)).Table;
        int[] rows = [.. Enumerable.Range(0, 40).Select(i => i * 37)];
        // The class names are the target's distinct values, sorted, as training numbered them.
        var target = table.Require("ocean_proximity", "target");
        Assert.Equal(target.Texts!.Where(t => t is not null).Distinct().Order(StringComparer.Ordinal), info.Classes);

        var set = new RowSet();
        set.Columns.AddRange(inputs.Select(f => f.Name));
        foreach (var r in rows)
        {
            var row = new Row();
            foreach (var field in inputs)
            {
                var column = table.Require(field.Name, "input");
                row.Values.Add(column.IsNumeric
                    ? double.IsNaN(column.Numbers![r]) ? new Value() : new Value { Number = column.Numbers[r] }
                    : column.Texts![r] is { } text ? new Value { Text = text } : new Value());
            }
            set.Rows.Add(row);
        }
        var response = await dataPlane.ScoreAsync(new ScoreRequest { Pipeline = "classes", Rows = set });

        // The reference: the same rows through the version's feature pipeline and ONNX model in one matrix.
        var expected = model.PredictMatrix(table, rows);
        var classes = info.Classes.Count;
        for (var i = 0; i < rows.Length; i++)
        {
            var scored = response.Scores[i];
            Assert.False(scored.Rejected, scored.Reason);
            Assert.Equal(classes, scored.Probabilities.Count);
            for (var c = 0; c < classes; c++)
                Assert.True(Math.Abs(expected[i * classes + c] - scored.Probabilities[c]) <= 1e-5,
                    string.Create(CultureInfo.InvariantCulture, $"row {rows[i]} class {c}: {expected[i * classes + c]} vs {scored.Probabilities[c]}"));
            var best = Enumerable.Range(0, classes).MaxBy(c => expected[i * classes + c]);
            Assert.Equal(info.Classes[best], scored.Label);
            Assert.Equal(("proximity", "1", "primary"), (scored.ModelName, scored.ModelVersion, scored.Variant));
        }
    }
}

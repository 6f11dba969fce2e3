using System.Globalization;
using Grpc.Net.Client;
using StreamMl.Engine;
using StreamMl.Host.Grpc.Inference.Protocol;
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

        await using var server = await StreamMlServer.StartAsync(new StreamMlOptions { Port = 0, MetricsPort = -1, HttpPort = 0, RegistryPath = registry });
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

        // The Open Inference Protocol answers the same rows with a probabilities tensor of shape [rows, classes], over
        // gRPC (typed tensors) and HTTP/JSON. Rows with a missing number are left out: a tensor has no nulls.
        int[] complete = [.. Enumerable.Range(0, rows.Length).Where(i => inputs.All(f =>
            table.Require(f.Name, "input") is var c && (c.IsNumeric ? !double.IsNaN(c.Numbers![rows[i]]) : c.Texts![rows[i]] is not null)))];
        Assert.True(complete.Length >= 20, $"{complete.Length} complete rows");
        var infer = new ModelInferRequest { ModelName = "classes" };
        var json = new List<object>();
        foreach (var field in inputs)
        {
            var column = table.Require(field.Name, "input");
            var tensor = new ModelInferRequest.Types.InferInputTensor { Name = field.Name, Datatype = TensorType(field.Type), Shape = { complete.Length }, Contents = new() };
            object data;
            switch (field.Type)
            {
                case ColumnType.Float32: tensor.Contents.Fp32Contents.Add(complete.Select(i => (float)column.Numbers![rows[i]])); data = tensor.Contents.Fp32Contents; break;
                case ColumnType.Float64: tensor.Contents.Fp64Contents.Add(complete.Select(i => column.Numbers![rows[i]])); data = tensor.Contents.Fp64Contents; break;
                default:
                    tensor.Contents.BytesContents.Add(complete.Select(i => Google.Protobuf.ByteString.CopyFromUtf8(column.Texts![rows[i]]!)));
                    data = complete.Select(i => column.Texts![rows[i]]).ToList();
                    break;
            }
            infer.Inputs.Add(tensor);
            json.Add(new { name = field.Name, datatype = tensor.Datatype, shape = new[] { complete.Length }, data });
        }
        var inferred = await new GRPCInferenceService.GRPCInferenceServiceClient(channel).ModelInferAsync(infer);
        var probabilities = Assert.Single(inferred.Outputs, o => o.Name == "probabilities");
        Assert.Equal([complete.Length, (long)classes], probabilities.Shape);
        var labels = Assert.Single(inferred.Outputs, o => o.Name == "label").Contents.BytesContents.Select(b => b.ToStringUtf8()).ToList();
        AssertProbabilities(probabilities.Contents.Fp32Contents, labels);

        using var http = new HttpClient { BaseAddress = new Uri(server.HttpAddress!) };
        using var answer = await http.PostAsync("/v2/models/classes/infer",
            new StringContent(System.Text.Json.JsonSerializer.Serialize(new { inputs = json }), System.Text.Encoding.UTF8, "application/json"));
        var answerText = await answer.Content.ReadAsStringAsync();
        Assert.True(answer.IsSuccessStatusCode, answerText);
        using var body = System.Text.Json.JsonDocument.Parse(answerText);
        var outputs = body.RootElement.GetProperty("outputs").EnumerateArray().ToDictionary(o => o.GetProperty("name").GetString()!);
        Assert.Equal([complete.Length, classes], outputs["probabilities"].GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
        AssertProbabilities([.. outputs["probabilities"].GetProperty("data").EnumerateArray().Select(e => e.GetSingle())],
            [.. outputs["label"].GetProperty("data").EnumerateArray().Select(e => e.GetString()!)]);

        void AssertProbabilities(IReadOnlyList<float> answered, IReadOnlyList<string> answeredLabels)
        {
            Assert.Equal(complete.Length * classes, answered.Count);
            for (var k = 0; k < complete.Length; k++)
            {
                var i = complete[k];
                for (var c = 0; c < classes; c++)
                    Assert.True(Math.Abs(expected[i * classes + c] - answered[k * classes + c]) <= 1e-5,
                        string.Create(CultureInfo.InvariantCulture, $"ModelInfer row {rows[i]} class {c}: {expected[i * classes + c]} vs {answered[k * classes + c]}"));
                Assert.Equal(info.Classes[Enumerable.Range(0, classes).MaxBy(c => expected[i * classes + c])], answeredLabels[k]);
            }
        }
    }

    private static string TensorType(ColumnType type) => type switch
    {
        ColumnType.Float32 => "FP32",
        ColumnType.Float64 => "FP64",
        ColumnType.String => "BYTES",
        _ => throw new InvalidOperationException($"no tensor type in this test for {type}"),
    };
}

using System.Text.Json;
using StreamMl.Engine;
using StreamMl.Host.Registry;
using StreamMl.Host.Training;
using StreamMl.Operators.Learners;

namespace StreamMl.Host.Tests.Images;

/// <summary><c>head: { kind: mlp }</c> in an images training spec (issue 15 item 3): the MLP head is cross-validated,
/// exported into the one registered ONNX graph (checked against the two stages within 1e-5 before registering) and that
/// graph holds the MLP's layers; bad head settings are refused naming the key.</summary>
public sealed class ImageMlpHeadTrainingTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("streamml-image-mlp-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task Mlp_head_trains_registers_one_graph_within_parity_and_bad_head_settings_are_refused()
    {
        var data = TinyImageSet.Copy(_root, perClass: 8);
        var spec = TrainSpec.Parse("""
            name: tiny-mlp
            data: { kind: images, path: data }
            task: multiclass
            head: { kind: mlp, hidden: 32, epochs: 40 }
            validation: { folds: 2, seed: 5, holdout: 0.25 }
            registry: { path: models }
            """, json: false, "tiny.yaml");
        spec.BaseDirectory = _root;

        var report = await TrainingRunner.RunAsync(spec);

        Assert.Equal("resnet18+mlp32", report.Trainer);
        Assert.True(report.HeldOut[MetricNames.Accuracy] >= 5.0 / 6, $"held-out accuracy {report.HeldOut[MetricNames.Accuracy]}");
        Assert.InRange(report.OnnxParity, 0, 1e-5);
        using var metrics = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(report.Version.Folder, ModelPackage.MetricsFile)));
        Assert.True(metrics.RootElement.GetProperty("onnxParity").GetDouble() <= 1e-5);

        foreach (var (head, message) in ((string, string)[])[
            ("{ kind: tree }", "head.kind 'tree' is not linear or mlp"),
            ("{ kind: mlp, hidden: 0 }", "head.hidden must be between 1 and 8192"),
            ("{ kind: mlp, learningRate: -1 }", "head.learningRate must be above 0")])
        {
            var error = Assert.Throws<StreamMlException>(() =>
                TrainSpec.Parse($"name: b\ndata: {{ kind: images, path: data }}\ntask: multiclass\nhead: {head}\n", json: false, "bad.yaml"));
            Assert.Contains(message, error.Message);
        }
    }
}

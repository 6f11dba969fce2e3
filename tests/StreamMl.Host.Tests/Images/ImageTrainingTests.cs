using StreamMl.Host.Models;
using StreamMl.Host.Specs;
using StreamMl.Host.Training;
using StreamMl.Operators.Learners;

namespace StreamMl.Host.Tests.Images;

public sealed class ImageTrainingTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("streamml-image-train-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task ImageSpecTrainsRegistersOneGraphAndAPipelineSpecScoresWithIt()
    {
        // Three well-separated caltech20 classes, 8 images each: seconds, not minutes.
        var data = TinyImageSet.Copy(_root, perClass: 8);
        var spec = TrainSpec.Parse("""
            name: tiny-images
            data: { kind: images, path: data }
            task: multiclass
            trainer: lr
            validation: { folds: 2, seed: 5, holdout: 0.25 }
            registry: { path: models }
            """, json: false, "tiny.yaml");
        spec.BaseDirectory = _root;

        var report = await TrainingRunner.RunAsync(spec);

        Assert.Equal(24, report.Rows);
        Assert.True(report.HeldOut[MetricNames.Accuracy] >= 5.0 / 6, $"held-out accuracy {report.HeldOut[MetricNames.Accuracy]}");
        Assert.InRange(report.OnnxParity, 0, 1e-5);
        Assert.True(File.Exists(Path.Combine(report.Version.Folder, "model.onnx")));

        var compiler = new SpecCompiler(ComponentRegistry.CreateDefault(), new ModelCatalog());
        var compiled = compiler.Compile("""
            name: tiny-score
            source: { kind: images, path: data }
            model: { kind: image, name: tiny-images, registry: models, top_k: 2 }
            sinks: [ { kind: memory } ]
            """, _root);
        Assert.NotNull(compiled);

        var errors = Assert.Throws<SpecException>(() => compiler.Compile("""
            name: bad-score
            source: { kind: images, path: no-such-folder }
            model: { kind: image, path: models/tiny-images/99 }
            sinks: [ { kind: memory } ]
            """, _root)).Errors;
        Assert.Contains(errors, e => e.Message.Contains("no-such-folder") && e.Line == 2);
        Assert.Contains(errors, e => e.Message.Contains("holds no registered image model") && e.Line == 3);
    }

    [Fact]
    public async Task FineTuneSectionFineTunesRegistersTheTunedGraphAndReportsFrozenAndFineTunedAccuracy()
    {
        var data = TinyImageSet.Copy(_root, perClass: 6);
        var spec = TrainSpec.Parse("""
            name: tiny-tuned
            data: { kind: images, path: data }
            task: multiclass
            trainer: lr
            validation: { folds: 2, seed: 5, holdout: 0.34 }
            registry: { path: models }
            fineTune: { blocks: 1, epochs: 1, views: 1, batch: 4, validation: 0.25, learningRate: 0.0005 }
            """, json: false, "tiny.yaml");
        spec.BaseDirectory = _root;

        var report = await TrainingRunner.RunAsync(spec);

        Assert.Equal("resnet18-finetuned+lr", report.Trainer);
        using var metrics = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(report.Version.Folder, "metrics.json")));
        var root = metrics.RootElement;
        Assert.True(root.GetProperty("frozenHeldOut").GetProperty("accuracy").GetDouble() > 0);
        var fineTune = root.GetProperty("fineTune");
        Assert.Equal(2, fineTune.GetProperty("epochs").GetArrayLength());
        Assert.InRange(fineTune.GetProperty("parity").GetDouble(), 0, 1e-4);
        Assert.Equal(report.HeldOut[MetricNames.Accuracy], root.GetProperty("heldOut").GetProperty("accuracy").GetDouble());
        Assert.True(report.HeldOut[MetricNames.Accuracy] >= 5.0 / 6, $"fine-tuned held-out accuracy {report.HeldOut[MetricNames.Accuracy]}");
    }

    [Fact]
    public void FineTuneSectionWithAnUnknownKeyIsRejectedWithItsLine()
    {
        var error = Assert.Throws<StreamMl.Engine.StreamMlException>(() => TrainSpec.Parse("""
            name: bad
            data: { kind: images, path: data }
            task: multiclass
            trainer: lr
            fineTune: { epochs: 2, learning_rate: 0.1 }
            """, json: false, "bad.yaml"));
        Assert.Contains("learning_rate", error.Message);
        Assert.Contains("line 5", error.Message);
    }
}

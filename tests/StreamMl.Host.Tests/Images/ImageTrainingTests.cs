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
        var data = Path.Combine(_root, "data");
        foreach (var name in (string[])["galaxy", "owl", "school-bus"])
        {
            Directory.CreateDirectory(Path.Combine(data, name));
            foreach (var file in Directory.GetFiles(SharedData.File("caltech20", name)).Order(StringComparer.Ordinal).Take(8))
                File.Copy(file, Path.Combine(data, name, Path.GetFileName(file)));
        }
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
}

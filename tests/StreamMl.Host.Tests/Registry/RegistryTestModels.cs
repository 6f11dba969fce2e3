using StreamMl.Host.Registry;
using StreamMl.Operators.Learners;

namespace StreamMl.Host.Tests.Registry;

/// <summary>Real ONNX models (ML.NET logistic regressions on a small random problem) and packages around them.</summary>
internal static class RegistryTestModels
{
    private static readonly Lazy<byte[]> s_onnx = new(() => Train(1));

    public static byte[] Onnx => s_onnx.Value;

    public static byte[] Train(int seed)
    {
        var random = new Random(seed);
        const int rows = 300, features = 3;
        var x = new float[rows * features];
        var y = new float[rows];
        for (var i = 0; i < rows; i++)
        {
            for (var f = 0; f < features; f++) x[i * features + f] = (float)random.NextDouble();
            y[i] = x[i * features] + 0.3 * random.NextDouble() > 0.6 ? 1 : 0;
        }
        var model = new MlNetLearner(LearningTask.Binary, new LearnerOptions { Trainer = "lr" }).Fit(new TrainingSet(x, features, y));
        using var stream = new MemoryStream();
        model.ExportOnnx(stream);
        return stream.ToArray();
    }

    public static ModelPackage Package(byte[]? onnx = null, int? parent = null) => new ModelPackage
    {
        Manifest = new ModelManifest { Task = "binary", Trainer = "lr", Target = "y", Parent = parent, Threshold = 0.5 },
    }
        .Add(ModelPackage.ModelFile, onnx ?? Onnx)
        .Add(ModelPackage.FeaturesFile, """{"format":"streamml.features"}""")
        .Add(ModelPackage.SchemaFile, """[{"name":"a","type":"float32"}]""")
        .Add(ModelPackage.MetricsFile, """{"roc_auc":0.9}""")
        .Add(ModelPackage.ProfileFile, """{"features":[]}""");

    public static string TempRoot()
    {
        var path = Path.Combine(Path.GetTempPath(), "streamml-registry-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>Every file and folder under <paramref name="root"/>, relative, for "nothing was written" checks.</summary>
    public static string[] Tree(string root) => Directory.Exists(root)
        ? Directory.GetFileSystemEntries(root, "*", SearchOption.AllDirectories).Select(p => Path.GetRelativePath(root, p)).Order().ToArray()
        : [];
}

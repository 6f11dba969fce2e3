using BenchmarkDotNet.Attributes;
using StreamMl.Engine;
using StreamMl.Images.Backbone;
using StreamMl.Images.Onnx;
using StreamMl.Images.Preprocessing;
using StreamMl.Images.Sources;

namespace StreamMl.Benchmarks.Images;

/// <summary>ResNet18 featurizer (preprocessing graph + backbone) in ONNX Runtime per image, at batch 1, 8 and 32 with 1
/// and 2 intra-op threads. Inputs are preprocessed caltech20 images.</summary>
[MemoryDiagnoser]
public class BackboneInferenceBenchmarks
{
    private ImageModelSession _featurizer = null!;
    private ImageTensorBatch _batch = null!;
    private float[] _output = [];

    [Params(1, 8, 32)]
    public int Batch { get; set; }

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var folder = ImageFolder.Open(Path.Combine(StreamMl.Benchmarks.Harness.HarnessProgram.RepositoryRoot(), "..", "shared", "data", "caltech20"));
        using var preprocessor = new ImagePreprocessor();
        _batch = new ImageTensorBatch(Batch);
        new ImageBatchReader(preprocessor, new CollectingDeadLetterSink()).Fill(_batch, folder.Images, 0);
        _featurizer = ImageModelSession.Featurizer(BackboneFiles.Locate(), Threads);
        _output = new float[Batch * 512];
    }

    [GlobalCleanup]
    public void Cleanup() => _featurizer.Dispose();

    [Benchmark]
    public void Featurize() => _featurizer.Run(_batch.Tensor, _batch.Count, ImageModels.Embedding, _output);
}

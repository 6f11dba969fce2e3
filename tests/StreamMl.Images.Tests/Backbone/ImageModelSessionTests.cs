using Microsoft.ML.OnnxRuntime;
using StreamMl.Engine;
using StreamMl.Images.Backbone;
using StreamMl.Images.Onnx;
using StreamMl.Images.Preprocessing;
using StreamMl.Images.Sources;

namespace StreamMl.Images.Tests.Backbone;

public sealed class ImageModelSessionTests
{
    internal static ImageTensorBatch ReadImages(int count, int perClass = 1)
    {
        var folder = ImageFolder.Open(SharedData.File("caltech20"));
        var images = folder.Images.GroupBy(i => i.Label).SelectMany(g => g.Take(perClass)).Take(count).ToArray();
        using var preprocessor = new ImagePreprocessor();
        var batch = new ImageTensorBatch(count);
        new ImageBatchReader(preprocessor, new CollectingDeadLetterSink()).Fill(batch, images, 0);
        Assert.Equal(count, batch.Count);
        return batch;
    }

    [Fact]
    public void PackagedModelsHaveTheDocumentedInputsAndOutputs()
    {
        var files = BackboneFiles.Locate();
        using var prep = new InferenceSession(files.PreprocessPath);
        using var backbone = new InferenceSession(files.BackbonePath);
        Assert.Equal([1, 3, 224, 224], prep.InputMetadata["OriginalInput"].Dimensions);
        Assert.Equal([1, 3, 224, 224], prep.OutputMetadata["PreprocessedInput"].Dimensions);
        Assert.Equal([1, 3, 224, 224], backbone.InputMetadata["Input247"].Dimensions);
        Assert.Equal([1, 512, 1, 1], backbone.OutputMetadata["Pooling395_Output_0"].Dimensions);
    }

    [Fact]
    public void ComposedFeaturizerMatchesThePackagedGraphsRunOneAfterTheOtherAtAnyBatchSize()
    {
        var batch = ReadImages(3);
        var files = BackboneFiles.Locate();
        using var prep = new InferenceSession(files.PreprocessPath);
        using var backbone = new InferenceSession(files.BackbonePath);
        using var featurizer = ImageModelSession.Featurizer(files, intraOpThreads: 1);

        var embeddings = featurizer.Run(batch.Tensor, batch.Count, ImageModels.Embedding);

        var side = 3 * 224 * 224;
        for (var image = 0; image < batch.Count; image++)
        {
            using var input = OrtValue.CreateTensorValueFromMemory(batch.Tensor.Slice(image * side, side).ToArray(), [1, 3, 224, 224]);
            using var prepared = prep.Run(new RunOptions(), ["OriginalInput"], [input], ["PreprocessedInput"]);
            using var pooled = backbone.Run(new RunOptions(), ["Input247"], [prepared[0]], ["Pooling395_Output_0"]);
            var expected = pooled[0].GetTensorDataAsSpan<float>();
            Assert.Equal(512, expected.Length);
            for (var k = 0; k < 512; k++)
                Assert.True(Math.Abs(expected[k] - embeddings[image * 512 + k]) <= 1e-5f * Math.Max(1f, Math.Abs(expected[k])),
                    $"image {image}, value {k}: packaged {expected[k]}, composed {embeddings[image * 512 + k]}");
        }
    }
}

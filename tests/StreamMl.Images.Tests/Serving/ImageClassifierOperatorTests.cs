using StreamMl.Engine;
using StreamMl.Images.Backbone;
using StreamMl.Images.Onnx;
using StreamMl.Images.Preprocessing;
using StreamMl.Images.Serving;
using StreamMl.Images.Sources;

namespace StreamMl.Images.Tests.Serving;

public sealed class ImageClassifierOperatorTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("streamml-serve-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task FolderSourceAndClassifierWriteTopKOfTheModelsProbabilitiesAndRejectBadFiles()
    {
        var owls = Directory.GetFiles(SharedData.File("caltech20", "owl")).Order(StringComparer.Ordinal).Take(3).ToArray();
        Directory.CreateDirectory(Path.Combine(_folder, "owl"));
        foreach (var file in owls) File.Copy(file, Path.Combine(_folder, "owl", Path.GetFileName(file)));
        File.WriteAllText(Path.Combine(_folder, "owl", "b-readme.png"), "not an image");

        // A head with 4 classes and seeded random weights: the operator's top-k must be the model's own ranking.
        var random = new Random(3);
        var weights = Enumerable.Range(0, 4 * 512).Select(_ => (float)(random.NextDouble() - 0.5) * 0.2f).ToArray();
        float[] biases = [0.1f, -0.2f, 0.3f, 0f];
        var onnx = ImageModels.Classifier(BackboneFiles.Locate(), weights, biases);
        string[] classes = ["w", "x", "y", "z"];
        using var classifier = new ImageClassifierOperator(onnx, classes, topK: 2, batchSize: 2);

        await using var source = new ImageFolderSource(_folder);
        var letters = new CollectingDeadLetterSink();
        await source.OpenAsync(new SourceContext("test", letters), CancellationToken.None);
        var schema = classifier.Bind(source.Schema);
        using var batch = new ColumnBatch(schema, 16);
        Assert.False(await source.FillAsync(batch, CancellationToken.None));
        Assert.Equal(4, batch.Length);
        classifier.Process(batch, StageContext.Standalone("image-classifier", letters));

        var letter = Assert.Single(letters.Letters);
        Assert.Contains("b-readme.png", letter.Message);
        Assert.Contains("not a JPEG or PNG", letter.Message);

        // Reference: the same model through ImageModelSession, ranked by a plain sort.
        using var session = new ImageModelSession(onnx);
        using var preprocessor = new ImagePreprocessor();
        var images = new ImageTensorBatch(4);
        var reader = new ImageBatchReader(preprocessor, new CollectingDeadLetterSink());
        var paths = batch[ImageFolderSource.PathColumn];
        var selected = Enumerable.Range(0, batch.Length).Where(batch.Selection.IsSelected).ToArray();
        Assert.Equal(3, selected.Length);
        foreach (var row in selected) reader.AddFile(images, new LabelledImage(paths.Dictionary![paths.Values<int>()[row]], -1));
        var probabilities = session.Run(images.Tensor, images.Count, ImageModels.Probabilities);
        for (var i = 0; i < selected.Length; i++)
        {
            var row = selected[i];
            var ranked = Enumerable.Range(0, 4).OrderByDescending(c => probabilities[i * 4 + c]).ToArray();
            for (var rank = 1; rank <= 2; rank++)
            {
                var (classColumn, probabilityColumn) = ImageClassifierOperator.Columns(rank);
                var column = batch[classColumn];
                Assert.Equal(classes[ranked[rank - 1]], column.Dictionary![column.Values<int>()[row]]);
                Assert.Equal(probabilities[i * 4 + ranked[rank - 1]], batch[probabilityColumn].Values<float>()[row], 5);
            }
            var label = batch[ImageFolderSource.LabelColumn];
            Assert.Equal("owl", label.Dictionary![label.Values<int>()[row]]);
        }
    }
}

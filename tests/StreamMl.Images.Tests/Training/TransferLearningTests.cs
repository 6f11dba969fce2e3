using StreamMl.Engine;
using StreamMl.Images.Backbone;
using StreamMl.Images.Onnx;
using StreamMl.Images.Preprocessing;
using StreamMl.Images.Sources;
using StreamMl.Operators.Learners;

namespace StreamMl.Images.Tests.Training;

public sealed class TransferLearningTests
{
    // Six classes x 10 images of caltech20, seeded 30 % held out: embeddings of 60 images run in a few seconds.
    private static readonly string[] s_classes = ["airplanes", "bear", "fireworks", "galaxy", "school-bus", "sword"];

    [Fact]
    public void FrozenBackboneWithLinearHeadClassifiesHeldOutImagesAndTheComposedGraphMatchesTheTwoStages()
    {
        var folder = ImageFolder.Open(SharedData.File("caltech20"));
        var chosen = folder.Images.Where(i => s_classes.Contains(folder.Classes[i.Label]))
            .GroupBy(i => i.Label).SelectMany(g => g.Take(10)).ToArray();
        var random = new Random(11);
        var test = chosen.GroupBy(i => i.Label).SelectMany(g => g.OrderBy(_ => random.Next()).Take(3)).ToHashSet();
        var train = chosen.Where(i => !test.Contains(i)).ToArray();
        var labelOf = s_classes.Select(c => folder.Classes.ToList().IndexOf(c)).ToArray();

        var files = BackboneFiles.Locate();
        using var featurizer = ImageModelSession.Featurizer(files);
        var embedder = new ImageEmbedder(featurizer, batchSize: 8);
        var letters = new CollectingDeadLetterSink();
        var trainEmbedded = embedder.Embed(train, letters);
        var testEmbedded = embedder.Embed([.. test], letters);
        Assert.Equal(0, letters.Count);

        TrainingSet Set(EmbeddedImages e) => new(e.Embeddings, e.Width,
            [.. e.Images.Select(i => (float)Array.IndexOf(labelOf, i.Label))]);
        var learner = new MlNetLearner(LearningTask.Multiclass, new LearnerOptions { Trainer = "lr", Classes = s_classes.Length });
        var model = learner.Fit(Set(trainEmbedded));
        var testSet = Set(testEmbedded);
        var twoStage = model.Predict(testSet);

        var correct = 0;
        for (var r = 0; r < testSet.Rows; r++)
        {
            var row = twoStage.AsSpan(r * s_classes.Length, s_classes.Length);
            if (row.IndexOf(MaxOf(row)) == (int)testSet.Labels[r]) correct++;
        }
        Assert.True(correct >= 15, $"{correct} of {testSet.Rows} held-out images classified correctly");

        var head = LinearMulticlassHead.From(model);
        var onnx = ImageModels.Classifier(files, head.Weights, head.Biases);
        using var composed = new ImageModelSession(onnx);
        using var preprocessor = new ImagePreprocessor();
        var batch = new ImageTensorBatch(testEmbedded.Images.Count);
        new ImageBatchReader(preprocessor, letters).Fill(batch, testEmbedded.Images, 0);
        var oneGraph = composed.Run(batch.Tensor, batch.Count, ImageModels.Probabilities);

        Assert.Equal(twoStage.Length, oneGraph.Length);
        var worst = 0.0;
        for (var i = 0; i < twoStage.Length; i++) worst = Math.Max(worst, Math.Abs(twoStage[i] - oneGraph[i]));
        Assert.True(worst <= 1e-5, $"composed graph differs from backbone + ML.NET head by {worst}");
    }

    private static float MaxOf(ReadOnlySpan<float> values)
    {
        var max = float.MinValue;
        foreach (var v in values) max = Math.Max(max, v);
        return max;
    }

    [Fact]
    public void EmbeddingCacheRoundTripsThroughParquetAndIsReadByAnotherReader()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("streamml-cache-").FullName, "embeddings.parquet");
        var cache = EmbeddingCache.Open(path, 4);
        cache.Add("aa", [1f, 2f, 3f, 4f]);
        cache.Add("bb", [5f, 6f, 7f, 8.5f]);
        cache.Save();

        var again = EmbeddingCache.Open(path, 4);
        Assert.Equal([5f, 6f, 7f, 8.5f], again.Find("bb")!);
        using var file = new ParquetSharp.ParquetFileReader(path);
        using var group = file.RowGroup(0);
        Assert.Equal(2, group.MetaData.NumRows);
        Assert.Equal(["aa", "bb"], group.Column(0).LogicalReader<string>().ReadAll(2));
        Assert.Equal([4f, 8.5f], group.Column(4).LogicalReader<float>().ReadAll(2));
    }
}

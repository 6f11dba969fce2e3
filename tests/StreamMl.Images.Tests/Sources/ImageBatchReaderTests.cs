using StreamMl.Engine;
using StreamMl.Images.Preprocessing;
using StreamMl.Images.Sources;

namespace StreamMl.Images.Tests.Sources;

public sealed class ImageBatchReaderTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("streamml-images-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void BadFilesBecomeDeadLettersWithFileAndReasonAndTheRestIsRead()
    {
        var source = SharedData.File("caltech20", "owl");
        var good = Directory.GetFiles(source).Order(StringComparer.Ordinal).Take(3).ToArray();
        Directory.CreateDirectory(Path.Combine(_folder, "owl"));
        foreach (var file in good) File.Copy(file, Path.Combine(_folder, "owl", Path.GetFileName(file)));
        var bytes = File.ReadAllBytes(good[0]);
        var truncated = Path.Combine(_folder, "owl", "b-truncated.jpg");
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 3)]);
        var text = Path.Combine(_folder, "owl", "c-notes.png");
        File.WriteAllText(text, "a text file named .png\n");

        var folder = ImageFolder.Open(_folder);
        var letters = new CollectingDeadLetterSink();
        using var preprocessor = new ImagePreprocessor();
        var reader = new ImageBatchReader(preprocessor, letters);
        var batch = new ImageTensorBatch(8);
        Assert.Equal(5, reader.Fill(batch, folder.Images, 0));

        Assert.Equal(3, batch.Count);
        Assert.All(batch.Labels.ToArray(), label => Assert.Equal(0, label));
        Assert.Equal(2, letters.Count);
        var byFile = letters.Letters.ToDictionary(l => l.Location);
        Assert.Contains("truncated", byFile[truncated].Message);
        Assert.Contains("not a JPEG or PNG", byFile[text].Message);
        Assert.All(letters.Letters, l => Assert.Equal(ImageBatchReader.Stage, l.Stage));
    }

    [Fact]
    public void StratifiedSplitHoldsOutTwentyPercentOfEachClassTheSameWayEveryRun()
    {
        var folder = ImageFolder.Open(SharedData.File("caltech20"));
        Assert.Equal(20, folder.Classes.Count);
        var (train, test) = folder.StratifiedSplit(0.2, seed: 7);
        var (_, again) = folder.StratifiedSplit(0.2, seed: 7);
        var (_, other) = folder.StratifiedSplit(0.2, seed: 8);

        Assert.Equal(folder.Images.Count, train.Count + test.Count);
        Assert.Empty(train.Select(i => i.Path).Intersect(test.Select(i => i.Path)));
        foreach (var group in folder.Images.GroupBy(i => i.Label))
            Assert.Equal(Math.Round(group.Count() * 0.2, MidpointRounding.AwayFromZero), test.Count(i => i.Label == group.Key));
        Assert.Equal(test.Select(i => i.Path), again.Select(i => i.Path));
        Assert.NotEqual(test.Select(i => i.Path), other.Select(i => i.Path));
        Assert.All(test, i => Assert.Equal(folder.Classes[i.Label], Path.GetFileName(Path.GetDirectoryName(i.Path))));
    }
}

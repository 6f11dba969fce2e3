using StreamMl.Engine;
using StreamMl.Images.Sources;
using StreamMl.Testing;

namespace StreamMl.Images.Tests.Sources;

/// <summary>Globs, watched folders and checkpoints of <see cref="ImageFileSource"/> (issue 15 item 1).</summary>
public sealed class ImageFileSourceTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("streamml-image-source-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Touch(string relative)
    {
        var path = Path.Combine(_folder, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, [1, 2, 3]);
        return path;
    }

    private static async Task<List<(string Path, string? Label, long Offset)>> ReadAsync(ImageFileSource source, int batches)
    {
        var rows = new List<(string, string?, long)>();
        using var batch = new ColumnBatch(source.Schema, 4);
        for (var i = 0; i < batches; i++)
        {
            batch.Reset();
            var more = await source.FillAsync(batch, CancellationToken.None);
            for (var r = 0; r < batch.Length; r++)
                rows.Add((batch[0].Dictionary![batch[0].Values<int>()[r]], batch[1].IsValid(r) ? batch[1].Dictionary![batch[1].Values<int>()[r]] : null, batch.RowOffsetsBuffer[r]));
            if (!more) break;
        }
        return rows;
    }

    [Fact]
    public async Task Glob_takes_only_matching_files_at_any_depth_labelled_by_their_folder()
    {
        string[] expected = [Touch("a/cat/1.jpg"), Touch("a/cat/deeper/dog/2.jpg"), Touch("a/top.jpg"), Touch("b/cat/3.jpg")];
        Touch("a/cat/4.png");
        Touch("a/cat/5.jpg.txt");
        var source = new ImageFileSource(new ImageSourceOptions { Path = Path.Combine(_folder, "*/**/*.jpg") });
        await source.OpenAsync(new SourceContext("t", new CollectingDeadLetterSink()), CancellationToken.None);

        var rows = await ReadAsync(source, 10);

        Assert.Equal(expected.Order(StringComparer.Ordinal), rows.Select(r => r.Path));
        Assert.Equal(["cat", "dog", "a", "cat"], rows.Select(r => r.Label));
        Assert.Equal([0L, 1, 2, 3], rows.Select(r => r.Offset));
        var (root, pattern) = ImageFileSource.ParsePath("/x/y/**/*.jp?g");
        Assert.Equal("/x/y", root);
        Assert.Matches(pattern!, "k/l/m.jpeg");
        Assert.DoesNotMatch(pattern!, "k/l/m.png");
    }

    [Fact]
    public async Task Watched_folder_picks_up_new_images_and_a_restart_resumes_after_the_committed_ones_with_the_same_positions()
    {
        var checkpoint = Path.Combine(_folder, "state", "images.json");
        var watched = Path.Combine(_folder, "in");
        foreach (var name in (string[])["owl/a.jpg", "owl/b.jpg", "bus/c.jpg", "d.png", "e.jpg"]) Touch(Path.Combine("in", name));
        var options = new ImageSourceOptions { Path = watched, Watch = true, WatchInterval = TimeSpan.FromMilliseconds(20), CheckpointPath = checkpoint };

        var first = new ImageFileSource(options);
        await first.OpenAsync(new SourceContext("t", new CollectingDeadLetterSink()), CancellationToken.None);
        var read = await ReadAsync(first, 2); // 4 then 1 row
        Assert.Equal(5, read.Count);
        // A file copied in with a temporary name and renamed appears in a later listing.
        var temp = Touch("in/.f.jpg.tmp");
        File.Move(temp, Path.Combine(watched, "f.jpg"));
        await Eventually.TrueAsync(async () => { read.AddRange(await ReadAsync(first, 1)); return read.Count == 6; }, "the new image to be read");
        Assert.Equal((Path.Combine(watched, "f.jpg"), (string?)null, 5L), read[5]);
        first.Commit([new SourceRange(0, 0, 3)]); // only the first three are durable in every sink
        Touch("in/bus/0.jpg"); // sorts first, but comes after the others: it is new

        var second = new ImageFileSource(options);
        await second.OpenAsync(new SourceContext("t", new CollectingDeadLetterSink()), CancellationToken.None);
        var again = await ReadAsync(second, 1);
        Assert.Equal(read.Skip(3).Take(3), again.Take(3)); // the uncommitted ones, same paths, labels and positions
        await Eventually.TrueAsync(async () => { again.AddRange(await ReadAsync(second, 1)); return again.Count >= 4; }, "the image added while stopped");
        Assert.Equal((Path.Combine(watched, "bus", "0.jpg"), (string?)"bus", 6L), again[3]);

        File.WriteAllText(checkpoint, "{ not json");
        var error = await Assert.ThrowsAsync<BadInputException>(async () =>
            await new ImageFileSource(options).OpenAsync(new SourceContext("t", new CollectingDeadLetterSink()), CancellationToken.None));
        Assert.Contains("delete it", error.Message);
    }
}

using StreamMl.Engine;

namespace StreamMl.Images.Sources;

/// <summary>A bounded source listing the images of a folder (<see cref="ImageFolder"/>): one row per file with its
/// <c>path</c> and <c>label</c> (the class folder's name, null for a flat folder). Decoding happens in the
/// <see cref="Serving.ImageClassifierOperator"/>, so a bad file is rejected there with its path.</summary>
public sealed class ImageFolderSource(string root) : IBatchSource
{
    /// <summary>Column with each image's file path.</summary>
    public const string PathColumn = "path";

    /// <summary>Column with each image's class folder name.</summary>
    public const string LabelColumn = "label";

    private ImageFolder? _folder;
    private int _next;

    /// <inheritdoc/>
    public string Name => $"images {root}";

    /// <inheritdoc/>
    public Schema Schema { get; } = new(new Field(PathColumn, ColumnType.String, Nullable: false), new Field(LabelColumn, ColumnType.String));

    /// <inheritdoc/>
    public bool PositionsAreStable => true;

    /// <inheritdoc/>
    public ValueTask OpenAsync(SourceContext context, CancellationToken cancellationToken)
    {
        _folder = ImageFolder.Open(root);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc/>
    public ValueTask<bool> FillAsync(ColumnBatch batch, CancellationToken cancellationToken)
    {
        var folder = _folder ?? throw new InvalidOperationException("the image source was not opened");
        var paths = batch[PathColumn];
        var labels = batch[LabelColumn];
        var start = _next;
        var rows = Math.Min(batch.Capacity, folder.Images.Count - _next);
        var pathCodes = paths.Values<int>();
        var labelCodes = labels.Values<int>();
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000;
        for (var row = 0; row < rows; row++)
        {
            var image = folder.Images[_next++];
            pathCodes[row] = paths.Dictionary!.GetOrAdd(image.Path);
            if (image.Label < 0) labels.SetNull(row);
            else labelCodes[row] = labels.Dictionary!.GetOrAdd(folder.Classes[image.Label]);
            batch.EventTimesBuffer[row] = now;
            batch.RowOffsetsBuffer[row] = start + row;
            batch.RowPartitionsBuffer[row] = 0;
        }
        batch.Length = rows;
        if (rows > 0) batch.Positions.Add(0, start, _next);
        return ValueTask.FromResult(_next < folder.Images.Count);
    }

    /// <inheritdoc/>
    public void Commit(ReadOnlySpan<SourceRange> ranges) { }

    /// <inheritdoc/>
    public string Describe(int partition, long offset) =>
        _folder is { } folder && (ulong)offset < (ulong)folder.Images.Count ? folder.Images[(int)offset].Path : $"{root} image {offset}";

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

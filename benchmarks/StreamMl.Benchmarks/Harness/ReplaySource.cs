using StreamMl.Connectors.Synthetic;
using StreamMl.Engine;

namespace StreamMl.Benchmarks.Harness;

/// <summary>Replays pre-generated sensor rows by copying column slices, so a sweep measures the engine rather than the
/// random-number generator. The template (16,384 rows) is generated once by the <see cref="SensorSource"/>.</summary>
public sealed class ReplaySource : IBatchSource
{
    private const int TemplateRows = 16_384;
    /// <summary>The generated rows every replay copies: device, timestamp and f0..f31.</summary>
    public static ColumnBatch Template => s_template.Value;

    private static readonly Lazy<ColumnBatch> s_template = new(() =>
    {
        var source = new SensorSource(new SensorSourceOptions { Features = 32, TotalRows = TemplateRows });
        var batch = new ColumnBatch(source.Schema, TemplateRows);
        source.FillAsync(batch, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        return batch;
    });

    private readonly long _total;
    private long _next;
    private int[]? _map;

    /// <summary>Creates a source of <paramref name="totalRows"/> rows.</summary>
    public ReplaySource(long totalRows) => _total = totalRows;

    /// <inheritdoc/>
    public string Name => "replay";

    /// <inheritdoc/>
    public Schema Schema => s_template.Value.Schema;

    /// <inheritdoc/>
    public ValueTask OpenAsync(SourceContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <inheritdoc/>
    public ValueTask<bool> FillAsync(ColumnBatch batch, CancellationToken cancellationToken)
    {
        var template = s_template.Value;
        _map ??= template.Schema.Select(f => batch.Schema.Require(f.Name)).ToArray();
        var rows = (int)Math.Min(batch.Capacity, _total - _next);
        var written = 0;
        while (written < rows)
        {
            var from = (int)((_next + written) % TemplateRows);
            var count = Math.Min(rows - written, TemplateRows - from);
            for (var c = 0; c < _map.Length; c++)
            {
                var column = template[c];
                if (column.Type == ColumnType.String)
                {
                    var codes = batch[_map[c]].Values<int>();
                    var dictionary = batch[_map[c]].Dictionary!;
                    for (var i = 0; i < count; i++)
                        codes[written + i] = dictionary.GetOrAdd(column.Dictionary![column.Values<int>()[from + i]]);
                }
                else
                {
                    var size = ColumnTypes.SizeOf(column.Type);
                    column.RawValues.Slice(from * size, count * size).CopyTo(batch[_map[c]].RawValues[(written * size)..]);
                }
            }
            template.EventTimes.Slice(from, count).CopyTo(batch.EventTimesBuffer[written..]);
            written += count;
        }
        for (var i = 0; i < rows; i++) batch.RowOffsetsBuffer[i] = _next + i;
        batch.Length = rows;
        if (rows > 0) batch.Positions.Add(0, _next, _next + rows);
        _next += rows;
        return ValueTask.FromResult(_next < _total);
    }

    /// <inheritdoc/>
    public void Commit(ReadOnlySpan<SourceRange> ranges) { }

    /// <inheritdoc/>
    public string Describe(int partition, long offset) => $"replay row {offset}";

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

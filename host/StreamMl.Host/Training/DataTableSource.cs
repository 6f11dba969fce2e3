using StreamMl.Engine;

namespace StreamMl.Host.Training;

/// <summary>A bounded source over rows of a <see cref="DataTable"/>, so a registered model can be run through a real
/// engine pipeline (evaluate, and the streaming check of training).</summary>
internal sealed class DataTableSource(DataTable table, IReadOnlyList<string> columns, IReadOnlyList<int>? rows = null) : IBatchSource
{
    private readonly IReadOnlyList<int> _rows = rows ?? Enumerable.Range(0, table.Rows).ToArray();
    private int _next;

    public string Name => "table:" + Path.GetFileName(table.Source);

    public Schema Schema { get; } = table.SchemaOf(columns);

    public ValueTask OpenAsync(SourceContext context, CancellationToken cancellationToken)
    {
        _next = 0;
        return ValueTask.CompletedTask;
    }

    public ValueTask<bool> FillAsync(ColumnBatch batch, CancellationToken cancellationToken)
    {
        if (_next >= _rows.Count) return ValueTask.FromResult(false);
        _next += table.Fill(batch, _rows, _next);
        return ValueTask.FromResult(_next < _rows.Count);
    }

    public void Commit(ReadOnlySpan<SourceRange> ranges) { }

    public string Describe(int partition, long offset) => $"{table.Source} line {offset}";

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

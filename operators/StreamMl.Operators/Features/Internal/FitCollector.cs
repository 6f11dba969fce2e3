using StreamMl.Engine;

namespace StreamMl.Operators.Features.Internal;

/// <summary>Copies the selected rows of the columns a pipeline reads from a stream of batches into one growing batch,
/// so fitting sees every training row at once. Strings are re-encoded into the collector's own dictionary because each
/// source batch has its own codes.</summary>
internal sealed class FitCollector : IDisposable
{
    private ColumnBatch? _rows;
    private int[] _sourceIndex = [];

    public void Add(ColumnBatch batch, IReadOnlyList<string> columns)
    {
        if (_rows is null)
        {
            var fields = columns.Select(name =>
            {
                var index = batch.Schema.IndexOf(name);
                if (index < 0)
                    throw new FeaturePipelineException(
                        $"the feature pipeline reads column '{name}', which the training batches do not have; columns are: {string.Join(", ", batch.Schema.Select(f => f.Name))}");
                return batch.Schema[index];
            }).ToArray();
            _rows = new ColumnBatch(new Schema(fields), Math.Max(batch.Length, 1024));
        }
        _sourceIndex = _rows.Schema.Select(f => batch.Schema.Require(f.Name, f.Type)).ToArray();
        var needed = _rows.Length + batch.Selection.Count;
        if (needed > _rows.Capacity) Grow(Math.Max(needed, _rows.Capacity * 2));
        var to = _rows.Length;
        for (var row = 0; row < batch.Length; row++)
        {
            if (!batch.Selection.IsSelected(row)) continue;
            for (var c = 0; c < _sourceIndex.Length; c++) _rows[c].CopyRow(batch[_sourceIndex[c]], row, to);
            to++;
        }
        SetLength(_rows, to);
    }

    /// <summary>The collected rows; the caller disposes the batch.</summary>
    public ColumnBatch Finish()
    {
        if (_rows is null || _rows.Length == 0)
            throw new FeaturePipelineException("cannot fit a feature pipeline on an empty stream: the training source gave no rows");
        var rows = _rows;
        _rows = null;
        return rows;
    }

    private void Grow(int capacity)
    {
        var bigger = new ColumnBatch(_rows!.Schema, capacity);
        for (var row = 0; row < _rows.Length; row++)
            for (var c = 0; c < _rows.Schema.Count; c++) bigger[c].CopyRow(_rows[c], row, row);
        SetLength(bigger, _rows.Length);
        _rows.Dispose();
        _rows = bigger;
    }

    // Length resets the selection; rows keep their values and validity bits.
    private static void SetLength(ColumnBatch batch, int length) => batch.Length = length;

    public void Dispose() => _rows?.Dispose();
}

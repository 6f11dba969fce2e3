using StreamMl.Engine;

namespace StreamMl.Operators.Retraining;

/// <summary>Feeds a <see cref="RetrainWindow"/> from a pipeline: each selected row whose label is present is appended
/// with its feature values and, when a score column is named, the serving model's score (for the live metric trigger).
/// Columns are resolved once at bind; a batch is converted column by column into scratch buffers, so steady state
/// allocates nothing. Put it after the scoring operator. Passes batches through unchanged.</summary>
public sealed class RetrainWindowOperator : IBatchOperator
{
    private readonly RetrainWindow _window;
    private readonly string _labelColumn;
    private readonly string? _scoreColumn;
    private int[] _featureIndexes = [];
    private int _labelIndex = -1, _scoreIndex = -1;
    private int[] _positions = [];
    private float[] _featureScratch = [], _labelScratch = [], _scoreScratch = [];
    private float[] _labelValues = [], _scoreValues = [];

    /// <summary>Appends rows to <paramref name="window"/> (whose feature names are the columns read), labels from
    /// <paramref name="labelColumn"/> and, when given, scores from <paramref name="scoreColumn"/>.</summary>
    public RetrainWindowOperator(RetrainWindow window, string labelColumn, string? scoreColumn = null)
    {
        _window = window;
        _labelColumn = labelColumn;
        _scoreColumn = scoreColumn;
    }

    /// <inheritdoc/>
    public string Name => "retrain-window";

    /// <summary>The window fed.</summary>
    public RetrainWindow Window => _window;

    /// <inheritdoc/>
    public Schema Bind(Schema input)
    {
        _featureIndexes = _window.FeatureNames.Select(name => RequireNumber(input, name, "feature")).ToArray();
        _labelIndex = RequireNumber(input, _labelColumn, "label");
        _scoreIndex = _scoreColumn is null ? -1 : RequireNumber(input, _scoreColumn, "score");
        return input;
    }

    /// <inheritdoc/>
    public void Process(ColumnBatch batch, StageContext context)
    {
        var length = batch.Length;
        var width = _featureIndexes.Length;
        if (_positions.Length < length)
        {
            _positions = new int[length];
            _featureScratch = new float[length * width];
            _labelScratch = new float[length];
            _scoreScratch = new float[length];
            _labelValues = new float[length];
            _scoreValues = new float[length];
        }
        var label = batch[_labelIndex];
        ToFloats(label, length, _labelValues);
        var score = _scoreIndex >= 0 ? batch[_scoreIndex] : null;
        if (score is not null) ToFloats(score, length, _scoreValues);
        // Kept rows: selected, with a label. Their positions are listed once, then each feature column is gathered.
        var kept = 0;
        for (var row = 0; row < length; row++)
        {
            if (!batch.Selection.IsSelected(row) || !label.IsValid(row) || float.IsNaN(_labelValues[row])) continue;
            _labelScratch[kept] = _labelValues[row];
            _scoreScratch[kept] = score is not null && score.IsValid(row) ? _scoreValues[row] : float.NaN;
            _positions[kept++] = row;
        }
        if (kept == 0) return;
        for (var f = 0; f < width; f++) Gather(batch[_featureIndexes[f]], f, kept, width);
        _window.Append(_featureScratch.AsSpan(0, kept * width), _labelScratch.AsSpan(0, kept), _scoreScratch.AsSpan(0, kept));
    }

    // Feature f of the kept rows into the row-major feature scratch; nulls become NaN.
    private void Gather(Column column, int feature, int kept, int width)
    {
        if (column.Type == ColumnType.Float32)
        {
            var values = column.Values<float>();
            for (var i = 0; i < kept; i++)
            {
                var row = _positions[i];
                _featureScratch[i * width + feature] = column.IsValid(row) ? values[row] : float.NaN;
            }
            return;
        }
        for (var i = 0; i < kept; i++)
        {
            var row = _positions[i];
            _featureScratch[i * width + feature] = column.IsValid(row) ? (float)Number(column, row) : float.NaN;
        }
    }

    private static void ToFloats(Column column, int length, float[] into)
    {
        switch (column.Type)
        {
            case ColumnType.Float32: column.Values<float>()[..length].CopyTo(into); break;
            case ColumnType.Float64: { var v = column.Values<double>(); for (var i = 0; i < length; i++) into[i] = (float)v[i]; break; }
            case ColumnType.Int32: { var v = column.Values<int>(); for (var i = 0; i < length; i++) into[i] = v[i]; break; }
            case ColumnType.Int64: { var v = column.Values<long>(); for (var i = 0; i < length; i++) into[i] = v[i]; break; }
            case ColumnType.Bool: { var v = column.Values<byte>(); for (var i = 0; i < length; i++) into[i] = v[i]; break; }
        }
    }

    private static double Number(Column column, int row) => column.Type switch
    {
        ColumnType.Float64 => column.Values<double>()[row],
        ColumnType.Int32 => column.Values<int>()[row],
        ColumnType.Int64 => column.Values<long>()[row],
        ColumnType.Bool => column.Values<byte>()[row],
        _ => column.Values<float>()[row],
    };

    private static int RequireNumber(Schema schema, string name, string role)
    {
        var index = schema.Require(name);
        if (schema[index].Type is not (ColumnType.Float32 or ColumnType.Float64 or ColumnType.Int32 or ColumnType.Int64 or ColumnType.Bool))
            throw new RetrainException($"retrain {role} column '{name}' is {ColumnTypes.Name(schema[index].Type)}; it must be numeric or bool");
        return index;
    }
}

using StreamMl.Engine;

namespace StreamMl.Host.Models;

/// <summary>A linear model written inline in a spec: <c>score = link(bias + Σ weight·input)</c> with the logistic
/// or identity link. Useful for rules that are really linear scores, for tests, and when no trained model exists yet.</summary>
internal sealed class LinearModel(IReadOnlyDictionary<string, double> weights, double bias, bool logistic) : IModelScorer
{
    private readonly string[] _inputs = [.. weights.Keys];
    private readonly float[] _weights = [.. weights.Values.Select(w => (float)w)];
    private int[] _columns = [];
    private ColumnType[] _types = [];

    public IReadOnlyList<string> Inputs => _inputs;

    public void Bind(Schema schema)
    {
        _columns = new int[_inputs.Length];
        _types = new ColumnType[_inputs.Length];
        for (var i = 0; i < _inputs.Length; i++)
        {
            _columns[i] = schema.Require(_inputs[i]);
            _types[i] = schema[_columns[i]].Type;
            if (!ColumnTypes.IsNumeric(_types[i]) && _types[i] != ColumnType.Bool)
                throw new SchemaMismatchException($"linear model input '{_inputs[i]}' is {ColumnTypes.Name(_types[i])}; it needs a number");
        }
    }

    public void Score(ColumnBatch batch, Span<float> scores)
    {
        var n = batch.Length;
        scores[..n].Fill((float)bias);
        for (var i = 0; i < _columns.Length; i++)
        {
            var w = _weights[i];
            var column = batch[_columns[i]];
            switch (_types[i])
            {
                case ColumnType.Float32:
                    {
                        var x = column.Values<float>()[..n];
                        for (var r = 0; r < n; r++) scores[r] += w * x[r];
                        break;
                    }
                case ColumnType.Float64:
                    {
                        var x = column.Values<double>()[..n];
                        for (var r = 0; r < n; r++) scores[r] += w * (float)x[r];
                        break;
                    }
                case ColumnType.Int32:
                    {
                        var x = column.Values<int>()[..n];
                        for (var r = 0; r < n; r++) scores[r] += w * x[r];
                        break;
                    }
                case ColumnType.Int64 or ColumnType.Timestamp:
                    {
                        var x = column.Values<long>()[..n];
                        for (var r = 0; r < n; r++) scores[r] += w * x[r];
                        break;
                    }
                case ColumnType.Bool:
                    {
                        var x = column.Values<byte>()[..n];
                        for (var r = 0; r < n; r++) scores[r] += w * x[r];
                        break;
                    }
            }
        }
        if (!logistic) return;
        for (var r = 0; r < n; r++) scores[r] = 1f / (1f + MathF.Exp(-scores[r]));
    }

    public void Dispose() { }
}

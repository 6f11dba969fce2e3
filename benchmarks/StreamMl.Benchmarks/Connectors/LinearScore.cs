using StreamMl.Engine;

namespace StreamMl.Benchmarks.ConnectorBenchmarks;

/// <summary>A trivial linear score (weights · features + bias) as a batch operator. The connector benchmarks measure
/// the transport, so both engines compute this same cheap function; the ONNX scorer has its own benchmarks.</summary>
internal sealed class LinearScore(string[] features, float[] weights, float bias) : IBatchOperator
{
    private int[] _inputs = [];
    private int _output;

    public string Name => "linear-score";

    public Schema Bind(Schema input)
    {
        _inputs = features.Select(f => input.Require(f, ColumnType.Float32)).ToArray();
        var output = input.Add(new Field("score", ColumnType.Float32));
        _output = output.IndexOf("score");
        return output;
    }

    public void Process(ColumnBatch batch, StageContext context)
    {
        var score = batch.Values<float>(_output);
        score.Fill(bias);
        for (var f = 0; f < _inputs.Length; f++)
        {
            var values = batch.Values<float>(_inputs[f]);
            var w = weights[f];
            for (var row = 0; row < score.Length; row++) score[row] += w * values[row];
        }
    }

    /// <summary>The same function on one record, for the peer engines.</summary>
    public static float Score(ReadOnlySpan<float> values, float[] weights, float bias)
    {
        var s = bias;
        for (var f = 0; f < values.Length; f++) s += weights[f] * values[f];
        return s;
    }
}

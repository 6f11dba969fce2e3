using StreamMl.Engine;

namespace StreamMl.Operators.Metrics;

/// <summary>Feeds the predictions of a scoring pipeline to a <see cref="StreamingMetrics"/>: for each selected row, its
/// key, event time, variant and prediction. Rows pass through unchanged.</summary>
public sealed class PredictionMetricsOperator : IBatchOperator
{
    private readonly StreamingMetrics _metrics;
    private readonly string _keyColumn;
    private readonly string _predictionColumn;
    private readonly string? _variantColumn;
    private readonly string _defaultVariant;
    private readonly Dictionary<long, string> _variantNames = [];
    private int _key = -1, _prediction = -1, _variant = -1;
    private long _maxEventTime = long.MinValue;

    /// <summary>Creates the operator.</summary>
    /// <param name="metrics">Where predictions go; shared with a <see cref="LabelMetricsOperator"/>.</param>
    /// <param name="keyColumn">Join key: int32, int64 or string.</param>
    /// <param name="predictionColumn">Probability of the positive class, or the regression prediction.</param>
    /// <param name="variantColumn">Optional string or integer column naming the model variant (A/B, shadow).</param>
    /// <param name="defaultVariant">Variant name when there is no variant column or it is null. Default "default".</param>
    public PredictionMetricsOperator(StreamingMetrics metrics, string keyColumn, string predictionColumn,
        string? variantColumn = null, string defaultVariant = "default")
    {
        _metrics = metrics;
        _keyColumn = keyColumn;
        _predictionColumn = predictionColumn;
        _variantColumn = variantColumn;
        _defaultVariant = defaultVariant;
    }

    /// <inheritdoc/>
    public string Name => "prediction-metrics";

    /// <inheritdoc/>
    public Schema Bind(Schema input)
    {
        _key = MetricsColumns.RequireKey(input, _keyColumn);
        _prediction = MetricsColumns.RequireNumber(input, _predictionColumn);
        if (_variantColumn is not null)
        {
            _variant = input.Require(_variantColumn);
            if (input[_variant].Type is not (ColumnType.String or ColumnType.Int32 or ColumnType.Int64))
                throw new SchemaMismatchException($"variant column '{_variantColumn}' is {ColumnTypes.Name(input[_variant].Type)}; use a string or integer column");
        }
        return input;
    }

    /// <inheritdoc/>
    public void Process(ColumnBatch batch, StageContext context)
    {
        var times = batch.EventTimes;
        var keys = batch[_key];
        var predictions = batch[_prediction];
        var variants = _variant >= 0 ? batch[_variant] : null;
        for (var row = 0; row < batch.Length; row++)
        {
            if (!batch.Selection.IsSelected(row) || !keys.IsValid(row) || !predictions.IsValid(row)) continue;
            var value = MetricsColumns.Number(predictions, row);
            if (double.IsNaN(value)) continue;
            var variant = variants is null || !variants.IsValid(row) ? _defaultVariant : MetricsColumns.Variant(variants, row, _variantNames);
            _metrics.AddPrediction(MetricsColumns.Key(keys, row), times[row], variant, value);
            if (times[row] > _maxEventTime) _maxEventTime = times[row];
        }
        // Without a source watermark, event times are taken as ordered: the newest one seen is the watermark.
        var watermark = batch.Watermark != ColumnBatch.NoWatermark ? batch.Watermark : _maxEventTime;
        if (watermark != long.MinValue) _metrics.AdvancePredictionWatermark(watermark);
    }
}

/// <summary>Feeds the labels of a label stream (outcomes arriving later) to a <see cref="StreamingMetrics"/>.</summary>
/// <param name="metrics">Where labels go; shared with a <see cref="PredictionMetricsOperator"/>.</param>
/// <param name="keyColumn">Join key: int32, int64 or string.</param>
/// <param name="labelColumn">Label: 0/1 (or bool) for classification, a number for regression.</param>
public sealed class LabelMetricsOperator(StreamingMetrics metrics, string keyColumn, string labelColumn) : IBatchOperator
{
    private int _key = -1, _label = -1;
    private long _maxEventTime = long.MinValue;

    /// <inheritdoc/>
    public string Name => "label-metrics";

    /// <inheritdoc/>
    public Schema Bind(Schema input)
    {
        _key = MetricsColumns.RequireKey(input, keyColumn);
        _label = MetricsColumns.RequireNumber(input, labelColumn);
        return input;
    }

    /// <inheritdoc/>
    public void Process(ColumnBatch batch, StageContext context)
    {
        var times = batch.EventTimes;
        var keys = batch[_key];
        var labels = batch[_label];
        for (var row = 0; row < batch.Length; row++)
        {
            if (!batch.Selection.IsSelected(row) || !keys.IsValid(row) || !labels.IsValid(row)) continue;
            var value = MetricsColumns.Number(labels, row);
            if (double.IsNaN(value)) continue;
            metrics.AddLabel(MetricsColumns.Key(keys, row), times[row], value);
            if (times[row] > _maxEventTime) _maxEventTime = times[row];
        }
        var watermark = batch.Watermark != ColumnBatch.NoWatermark ? batch.Watermark : _maxEventTime;
        if (watermark != long.MinValue) metrics.AdvanceLabelWatermark(watermark);
    }
}

/// <summary>Column checks and reads shared by the metrics operators.</summary>
internal static class MetricsColumns
{
    public static int RequireKey(Schema schema, string name)
    {
        var index = schema.Require(name);
        if (schema[index].Type is not (ColumnType.Int32 or ColumnType.Int64 or ColumnType.String))
            throw new SchemaMismatchException($"join key column '{name}' is {ColumnTypes.Name(schema[index].Type)}; use int32, int64 or string");
        return index;
    }

    public static int RequireNumber(Schema schema, string name)
    {
        var index = schema.Require(name);
        if (schema[index].Type is ColumnType.String or ColumnType.Timestamp)
            throw new SchemaMismatchException($"column '{name}' is {ColumnTypes.Name(schema[index].Type)}; predictions and labels must be numeric or bool");
        return index;
    }

    public static JoinKey Key(Column column, int row) => column.Type switch
    {
        ColumnType.Int32 => JoinKey.Of(column.Values<int>()[row]),
        ColumnType.Int64 => JoinKey.Of(column.Values<long>()[row]),
        _ => JoinKey.Of(column.Dictionary![column.Values<int>()[row]]),
    };

    public static double Number(Column column, int row) => column.Type switch
    {
        ColumnType.Float32 => column.Values<float>()[row],
        ColumnType.Float64 => column.Values<double>()[row],
        ColumnType.Int32 => column.Values<int>()[row],
        ColumnType.Int64 => column.Values<long>()[row],
        ColumnType.Bool => column.Values<byte>()[row],
        _ => double.NaN,
    };

    /// <summary>The variant name of a row; integer variants are formatted once per distinct value and cached in
    /// <paramref name="names"/> so that steady state does not allocate.</summary>
    public static string Variant(Column column, int row, Dictionary<long, string> names)
    {
        if (column.Type == ColumnType.String) return column.Dictionary![column.Values<int>()[row]];
        var value = column.Type == ColumnType.Int32 ? column.Values<int>()[row] : column.Values<long>()[row];
        if (!names.TryGetValue(value, out var name))
            names[value] = name = value.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return name;
    }
}

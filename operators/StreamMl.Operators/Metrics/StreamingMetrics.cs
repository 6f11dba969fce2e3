using System.Text.Json;
using System.Text.Json.Serialization;

namespace StreamMl.Operators.Metrics;

/// <summary>What kind of model is scored.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ModelTask>))]
public enum ModelTask
{
    /// <summary>Binary classification: the prediction is the probability of the positive class, the label 0 or 1.</summary>
    BinaryClassification,
    /// <summary>Regression: prediction and label are numbers.</summary>
    Regression,
}

/// <summary>The key joining a prediction to its label: a number or a string.</summary>
/// <param name="Number">Integer key (when <paramref name="Text"/> is null).</param>
/// <param name="Text">String key, or null for integer keys.</param>
public readonly record struct JoinKey(long Number, string? Text)
{
    /// <summary>An integer key.</summary>
    public static JoinKey Of(long number) => new(number, null);

    /// <summary>A string key.</summary>
    public static JoinKey Of(string text) => new(0, text);

    /// <inheritdoc/>
    public override string ToString() => Text ?? Number.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>Options of <see cref="StreamingMetrics"/>.</summary>
public sealed class StreamingMetricsOptions
{
    /// <summary>Classification or regression. Default binary classification.</summary>
    public ModelTask Task { get; init; } = ModelTask.BinaryClassification;

    /// <summary>Longest time from a prediction's event time to its label's. A label later than this, or earlier than
    /// the prediction, does not join. Default one hour.</summary>
    public TimeSpan TimeBound { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Classification threshold. Default 0.5.</summary>
    public double Threshold { get; init; } = 0.5;

    /// <summary>ROC AUC histogram bins. Default 1000.</summary>
    public int AucBins { get; init; } = 1000;
}

/// <summary>Joins predictions with labels that arrive later, by key, within <see cref="StreamingMetricsOptions.TimeBound"/>
/// of event time, and keeps running metrics per model variant. Either side may arrive first in processing order;
/// unmatched entries wait until the other side's watermark shows no partner can still come, then count as expired.
/// Thread-safe: the prediction and label pipelines usually feed it from different threads. In steady state (no new
/// variants, pending sets not growing) nothing allocates.</summary>
public sealed class StreamingMetrics
{
    private readonly StreamingMetricsOptions _options;
    private readonly long _bound;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, VariantState> _variants = new(StringComparer.Ordinal);
    private readonly PendingSet<PendingPrediction> _predictions = new();
    private readonly PendingSet<double> _labels = new();
    private long _predictionWatermark = long.MinValue;
    private long _labelWatermark = long.MinValue;
    private long _matched, _expiredPredictions, _expiredLabels, _outOfBoundLabels, _duplicatePredictions, _duplicateLabels;

    /// <summary>Creates the joiner.</summary>
    public StreamingMetrics(StreamingMetricsOptions? options = null)
    {
        _options = options ?? new StreamingMetricsOptions();
        if (_options.TimeBound < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(options), "TimeBound must not be negative");
        _bound = _options.TimeBound.Ticks / 10;
    }

    /// <summary>The options.</summary>
    public StreamingMetricsOptions Options => _options;

    /// <summary>Records a prediction made at <paramref name="eventTime"/> (UTC microseconds) by <paramref name="variant"/>.</summary>
    public void AddPrediction(JoinKey key, long eventTime, string variant, double prediction)
    {
        lock (_lock)
        {
            var state = Variant(variant);
            if (_labels.TryTake(key, out var label))
            {
                if (Joins(eventTime, label.Time)) Record(state, prediction, label.Value);
                else { _outOfBoundLabels++; _predictions.Add(key, new PendingPrediction(state, prediction), eventTime); }
                return;
            }
            if (_predictions.Add(key, new PendingPrediction(state, prediction), eventTime)) _duplicatePredictions++;
        }
    }

    /// <summary>Records the true outcome for <paramref name="key"/>, observed at <paramref name="eventTime"/>.</summary>
    public void AddLabel(JoinKey key, long eventTime, double label)
    {
        lock (_lock)
        {
            if (_predictions.TryTake(key, out var prediction))
            {
                if (Joins(prediction.Time, eventTime)) Record(prediction.Value.Variant, prediction.Value.Value, label);
                else { _outOfBoundLabels++; _expiredPredictions++; }
                return;
            }
            if (_labels.Add(key, label, eventTime)) _duplicateLabels++;
        }
    }

    /// <summary>No prediction at or before <paramref name="watermark"/> will come: pending labels at or before it expire.</summary>
    public void AdvancePredictionWatermark(long watermark)
    {
        lock (_lock)
        {
            if (watermark <= _predictionWatermark) return;
            _predictionWatermark = watermark;
            _expiredLabels += _labels.ExpireThrough(watermark);
        }
    }

    /// <summary>No label at or before <paramref name="watermark"/> will come: pending predictions whose time bound ends
    /// at or before it expire unlabelled.</summary>
    public void AdvanceLabelWatermark(long watermark)
    {
        lock (_lock)
        {
            if (watermark <= _labelWatermark) return;
            _labelWatermark = watermark;
            _expiredPredictions += _predictions.ExpireThrough(watermark == long.MinValue ? watermark : watermark - _bound);
        }
    }

    /// <summary>A snapshot of every variant's metrics and the join's counters.</summary>
    public MetricsReport GetReport()
    {
        lock (_lock)
        {
            var variants = _variants.Values.OrderBy(v => v.Name, StringComparer.Ordinal).Select(v =>
            {
                var c = v.Classification;
                var r = v.Regression;
                return new VariantMetrics
                {
                    Variant = v.Name,
                    Count = c?.Count ?? r!.Count,
                    TruePositives = c?.TruePositives,
                    FalsePositives = c?.FalsePositives,
                    TrueNegatives = c?.TrueNegatives,
                    FalseNegatives = c?.FalseNegatives,
                    Accuracy = Value(c?.Accuracy),
                    Precision = Value(c?.Precision),
                    Recall = Value(c?.Recall),
                    F1 = Value(c?.F1),
                    RocAuc = Value(c?.RocAuc),
                    RocAucErrorBound = Value(c?.RocAucErrorBound),
                    LogLoss = Value(c?.LogLoss),
                    Rmse = Value(r?.Rmse),
                    Mae = Value(r?.Mae),
                    MeanError = Value(r?.MeanError),
                    R2 = Value(r?.R2),
                };
            }).ToList();
            return new MetricsReport
            {
                Task = _options.Task,
                Variants = variants,
                Matched = _matched,
                PendingPredictions = _predictions.Count,
                PendingLabels = _labels.Count,
                ExpiredPredictions = _expiredPredictions,
                ExpiredLabels = _expiredLabels,
                OutOfBoundLabels = _outOfBoundLabels,
                DuplicatePredictions = _duplicatePredictions,
                DuplicateLabels = _duplicateLabels,
            };
        }
    }

    private static double? Value(double? v) => v is { } d && !double.IsNaN(d) ? d : null;

    private bool Joins(long predictionTime, long labelTime) => labelTime >= predictionTime && labelTime - predictionTime <= _bound;

    private void Record(VariantState variant, double prediction, double label)
    {
        _matched++;
        if (variant.Classification is { } c) c.Add(prediction, label >= 0.5);
        else variant.Regression!.Add(prediction, label);
    }

    private VariantState Variant(string name)
    {
        if (_variants.TryGetValue(name, out var state)) return state;
        state = new VariantState(name, _options);
        _variants.Add(name, state);
        return state;
    }

    private sealed class VariantState(string name, StreamingMetricsOptions options)
    {
        public string Name { get; } = name;
        public ClassificationMetrics? Classification { get; } =
            options.Task == ModelTask.BinaryClassification ? new ClassificationMetrics(options.Threshold, options.AucBins) : null;
        public RegressionMetrics? Regression { get; } = options.Task == ModelTask.Regression ? new RegressionMetrics() : null;
    }

    private readonly record struct PendingPrediction(VariantState Variant, double Value);

    /// <summary>Entries waiting for a partner: a key index plus an arrival-ordered queue for expiry. Entries taken by a
    /// match stay in the queue as stale (their generation no longer matches) and are skipped when reached.</summary>
    private sealed class PendingSet<T>
    {
        private readonly Dictionary<JoinKey, int> _slotByKey = [];
        private readonly Queue<(int Slot, int Generation)> _order = new();
        private readonly Stack<int> _free = new();
        private Entry[] _entries = new Entry[256];
        private int _used;

        private struct Entry
        {
            public JoinKey Key;
            public long Time;
            public T Value;
            public int Generation;
            public bool Live;
        }

        public int Count => _slotByKey.Count;

        /// <summary>Adds or replaces the entry for <paramref name="key"/>; returns true when one was replaced.</summary>
        public bool Add(JoinKey key, T value, long time)
        {
            var replaced = TryTake(key, out _);
            int slot;
            if (_free.Count > 0) slot = _free.Pop();
            else
            {
                if (_used == _entries.Length) Array.Resize(ref _entries, _entries.Length * 2);
                slot = _used++;
            }
            ref var e = ref _entries[slot];
            e.Key = key;
            e.Time = time;
            e.Value = value;
            e.Generation++;
            e.Live = true;
            _slotByKey[key] = slot;
            _order.Enqueue((slot, e.Generation));
            // Matched entries stay queued until they reach the head; dropping stale heads here keeps the queue
            // bounded even when no watermark ever advances.
            while (_order.TryPeek(out var head) && !IsCurrent(head)) _order.Dequeue();
            return replaced;
        }

        private bool IsCurrent((int Slot, int Generation) queued) =>
            _entries[queued.Slot].Live && _entries[queued.Slot].Generation == queued.Generation;

        public bool TryTake(JoinKey key, out (long Time, T Value) taken)
        {
            if (!_slotByKey.Remove(key, out var slot))
            {
                taken = default;
                return false;
            }
            ref var e = ref _entries[slot];
            taken = (e.Time, e.Value);
            e.Live = false;
            e.Value = default!;
            _free.Push(slot);
            return true;
        }

        /// <summary>Removes live entries with time at or before <paramref name="time"/> from the head of the arrival order
        /// (stopping at the first newer one); returns how many expired.</summary>
        public long ExpireThrough(long time)
        {
            long expired = 0;
            while (_order.TryPeek(out var head))
            {
                ref var e = ref _entries[head.Slot];
                if (e.Live && e.Generation == head.Generation)
                {
                    if (e.Time > time) break;
                    _slotByKey.Remove(e.Key);
                    e.Live = false;
                    e.Value = default!;
                    _free.Push(head.Slot);
                    expired++;
                }
                _order.Dequeue();
            }
            return expired;
        }
    }
}

/// <summary>Metrics of one model variant in a <see cref="MetricsReport"/>; null where not applicable or undefined.</summary>
public sealed class VariantMetrics
{
    /// <summary>Variant name ("default" when the pipeline has no variant column).</summary>
    public required string Variant { get; init; }

    /// <summary>Joined prediction–label pairs.</summary>
    public long Count { get; init; }

    /// <summary>Confusion matrix: positive label, predicted positive.</summary>
    public long? TruePositives { get; init; }

    /// <summary>Negative label, predicted positive.</summary>
    public long? FalsePositives { get; init; }

    /// <summary>Negative label, predicted negative.</summary>
    public long? TrueNegatives { get; init; }

    /// <summary>Positive label, predicted negative.</summary>
    public long? FalseNegatives { get; init; }

    /// <summary>Accuracy.</summary>
    public double? Accuracy { get; init; }

    /// <summary>Precision.</summary>
    public double? Precision { get; init; }

    /// <summary>Recall.</summary>
    public double? Recall { get; init; }

    /// <summary>F1 score.</summary>
    public double? F1 { get; init; }

    /// <summary>ROC AUC from score histograms.</summary>
    public double? RocAuc { get; init; }

    /// <summary>Most the binned ROC AUC can differ from the exact one.</summary>
    public double? RocAucErrorBound { get; init; }

    /// <summary>Log loss in nats.</summary>
    public double? LogLoss { get; init; }

    /// <summary>Root mean squared error.</summary>
    public double? Rmse { get; init; }

    /// <summary>Mean absolute error.</summary>
    public double? Mae { get; init; }

    /// <summary>Mean of prediction − label.</summary>
    public double? MeanError { get; init; }

    /// <summary>Coefficient of determination.</summary>
    public double? R2 { get; init; }
}

/// <summary>Streaming metrics of every variant plus the delayed-label join's counters. Plain data, JSON-serialisable.</summary>
public sealed class MetricsReport
{
    /// <summary>Classification or regression.</summary>
    public ModelTask Task { get; init; }

    /// <summary>Per variant, by name.</summary>
    public required IReadOnlyList<VariantMetrics> Variants { get; init; }

    /// <summary>Predictions joined with a label.</summary>
    public long Matched { get; init; }

    /// <summary>Predictions still waiting for a label.</summary>
    public long PendingPredictions { get; init; }

    /// <summary>Labels still waiting for a prediction.</summary>
    public long PendingLabels { get; init; }

    /// <summary>Predictions whose label did not come within the time bound.</summary>
    public long ExpiredPredictions { get; init; }

    /// <summary>Labels whose prediction never came.</summary>
    public long ExpiredLabels { get; init; }

    /// <summary>Labels whose prediction was found but outside the time bound (too late, or before the prediction).</summary>
    public long OutOfBoundLabels { get; init; }

    /// <summary>Predictions that replaced a pending one with the same key.</summary>
    public long DuplicatePredictions { get; init; }

    /// <summary>Labels that replaced a pending one with the same key.</summary>
    public long DuplicateLabels { get; init; }

    /// <summary>The metrics of <paramref name="variant"/>, or null.</summary>
    public VariantMetrics? For(string variant) => Variants.FirstOrDefault(v => v.Variant == variant);

    /// <summary>Indented JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, MetricsJsonContext.Default.MetricsReport);

    /// <summary>Reads a report written by <see cref="ToJson"/>.</summary>
    public static MetricsReport FromJson(string json) =>
        JsonSerializer.Deserialize(json, MetricsJsonContext.Default.MetricsReport) ?? throw new Engine.StreamMlException("metrics report JSON is 'null'");
}

/// <summary>Source-generated JSON metadata for the metrics report.</summary>
[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(MetricsReport))]
internal sealed partial class MetricsJsonContext : JsonSerializerContext;

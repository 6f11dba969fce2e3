using StreamMl.Engine;

namespace StreamMl.Operators.Learners;

/// <summary>How <see cref="EncodingLearner"/> turns a category column into a number.</summary>
public enum CategoryEncodingKind
{
    /// <summary>The smoothed mean of the target in the category: (sum + m × prior) / (count + m), the prior being the
    /// mean over all rows fitted and m the smoothing; a category not seen in fitting gets the prior.</summary>
    Target,
    /// <summary>The share of the rows fitted that hold the category; an unseen category gets 0.</summary>
    Frequency,
}

/// <summary>Category encodings fitted on the rows a model is fitted on and nowhere else: wrapped around a learner,
/// each cross-validation fold fits its own encoding on its training rows, so the validation fold's targets never reach
/// its features (a target encoding fitted before the split leaks them: CategoryEncodingTests shows a noise column
/// reaching ROC AUC 0.9 that way). The named columns of the matrix hold category codes (any float values) and are
/// replaced by their encodings. Binary and regression targets.</summary>
public sealed class EncodingLearner(ILearner inner, IReadOnlyList<int> columns, CategoryEncodingKind kind, double smoothing = 10) : ILearner
{
    /// <inheritdoc/>
    public LearningTask Task => inner.Task;

    /// <inheritdoc/>
    public IFittedModel Fit(TrainingSet set)
    {
        if (Task == LearningTask.Multiclass && kind == CategoryEncodingKind.Target)
            throw new StreamMlException("target encoding needs a binary or regression target");
        var encoders = columns.Select(c => CategoryEncoder.Fit(set, c, kind, smoothing)).ToArray();
        return new EncodedModel(inner.Fit(Apply(set, encoders)), encoders);
    }

    internal static TrainingSet Apply(TrainingSet set, CategoryEncoder[] encoders)
    {
        var features = (float[])set.Features.Clone();
        foreach (var encoder in encoders)
        {
            for (var r = 0; r < set.Rows; r++)
            {
                var at = r * set.FeatureCount + encoder.Column;
                features[at] = encoder.Encode(features[at]);
            }
        }
        return new TrainingSet(features, set.FeatureCount, set.Labels, set.FeatureNames, set.Weights, set.RowIds);
    }

    private sealed class EncodedModel(IFittedModel model, CategoryEncoder[] encoders) : IFittedModel
    {
        public LearningTask Task => model.Task;
        public int Classes => model.Classes;
        public int? Trees => model.Trees;
        public float[] Predict(TrainingSet set) => model.Predict(Apply(set, encoders));
        public void ExportOnnx(Stream stream)
        {
            using var inner = new MemoryStream();
            model.ExportOnnx(inner);
            stream.Write(Encodings.EncodingGraph.Prepend(inner.ToArray(), encoders));
        }
    }
}

/// <summary>One fitted category encoding of one matrix column.</summary>
internal sealed class CategoryEncoder
{
    private readonly Dictionary<float, float> _values;
    private readonly float _unseen;

    private CategoryEncoder(int column, Dictionary<float, float> values, float unseen)
    {
        Column = column;
        _values = values;
        _unseen = unseen;
    }

    public int Column { get; }

    /// <summary>The fitted value of every category seen in fitting.</summary>
    public IReadOnlyDictionary<float, float> Values => _values;

    /// <summary>The value of a category not seen in fitting.</summary>
    public float Unseen => _unseen;

    public float Encode(float category) => _values.TryGetValue(category, out var value) ? value : _unseen;

    public static CategoryEncoder Fit(TrainingSet set, int column, CategoryEncodingKind kind, double smoothing)
    {
        if (column < 0 || column >= set.FeatureCount)
            throw new StreamMlException($"category column {column} is outside the matrix ({set.FeatureCount} features)");
        var sums = new Dictionary<float, (double Sum, int Count)>();
        double total = 0;
        for (var r = 0; r < set.Rows; r++)
        {
            var category = set.Features[r * set.FeatureCount + column];
            var (sum, count) = sums.GetValueOrDefault(category);
            sums[category] = (sum + set.Labels[r], count + 1);
            total += set.Labels[r];
        }
        var prior = set.Rows == 0 ? 0 : total / set.Rows;
        var values = sums.ToDictionary(kv => kv.Key, kv => kind == CategoryEncodingKind.Target
            ? (float)((kv.Value.Sum + smoothing * prior) / (kv.Value.Count + smoothing))
            : (float)kv.Value.Count / set.Rows);
        return new CategoryEncoder(column, values, kind == CategoryEncodingKind.Target ? (float)prior : 0f);
    }
}

using StreamMl.Engine;
using StreamMl.Operators.Features;
using StreamMl.Operators.Features.Internal;

namespace StreamMl.Operators.Learners;

/// <summary>Derived features computed inside the model: wrapped around a learner, every fit and prediction appends the
/// columns <see cref="DerivedFeature"/>s compute from the matrix (same kernel as <see cref="DeriveStep"/>), and the
/// exported ONNX graph computes them with Gather, Add/Sub/Mul/Div, IsInf and Where nodes before the inner model, so the
/// registered model takes the matrix without them. Operands are columns of that matrix (not other derived features).
/// Stateless, so nothing leaks between folds.</summary>
public sealed class DerivedFeaturesLearner : ILearner
{
    private readonly ILearner _inner;
    private readonly ResolvedFeature[] _features;
    private readonly int _width;

    /// <summary>Wraps <paramref name="inner"/>; operands name columns of a matrix with <paramref name="featureNames"/>.</summary>
    public DerivedFeaturesLearner(ILearner inner, IReadOnlyList<DerivedFeature> features, IReadOnlyList<string> featureNames)
    {
        ArgumentNullException.ThrowIfNull(inner);
        _inner = inner;
        _width = featureNames.Count;
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < featureNames.Count; i++) index.TryAdd(featureNames[i], i);
        int Column(DerivedFeature feature, string? name)
        {
            if (name is null) return -1;
            if (index.TryGetValue(name, out var column)) return column;
            throw new StreamMlException(
                $"derived feature '{feature.Name}' reads '{name}', which is not a feature of the matrix; the features are: {string.Join(", ", featureNames)}");
        }
        var taken = featureNames.ToHashSet(StringComparer.Ordinal);
        _features = features.Select(f =>
        {
            if (!taken.Add(f.Name)) throw new StreamMlException($"derived feature '{f.Name}' is already a feature; give it another name");
            return new ResolvedFeature(f, Column(f, f.LeftFeature), Column(f, f.RightFeature));
        }).ToArray();
        if (_features.Length == 0) throw new StreamMlException("derived features: none given");
    }

    /// <summary>The matrix columns after the derived ones are appended.</summary>
    public IReadOnlyList<string> FeatureNames(IReadOnlyList<string> inputNames) => [.. inputNames, .. _features.Select(f => f.Feature.Name)];

    /// <inheritdoc/>
    public LearningTask Task => _inner.Task;

    /// <inheritdoc/>
    public IFittedModel Fit(TrainingSet set) => new DerivedModel(_inner.Fit(Append(set)), this);

    /// <inheritdoc/>
    public IFittedModel FitToPredict(TrainingSet set) => new DerivedModel(_inner.FitToPredict(Append(set)), this);

    /// <summary>The set with the derived columns appended (a new matrix; the input is not changed).</summary>
    public TrainingSet Append(TrainingSet set)
    {
        if (set.FeatureCount != _width)
            throw new StreamMlException($"derived features were set up for {_width} features; the matrix has {set.FeatureCount}");
        var rows = set.Rows;
        var width = _width + _features.Length;
        var matrix = new float[rows * width];
        for (var r = 0; r < rows; r++) set.Row(r).CopyTo(matrix.AsSpan(r * width, _width));
        // Column-major scratch so the SIMD kernel runs over contiguous operands (the matrix is row-major).
        var left = new float[rows];
        var right = new float[rows];
        var result = new float[rows];
        for (var f = 0; f < _features.Length; f++)
        {
            var feature = _features[f];
            Operand(set, feature.LeftColumn, feature.Feature.LeftConstant, left);
            Operand(set, feature.RightColumn, feature.Feature.RightConstant, right);
            FeatureKernels.Derive(left, right, result, feature.Feature.Operator);
            for (var r = 0; r < rows; r++) matrix[r * width + _width + f] = result[r];
        }
        return new TrainingSet(matrix, width, set.Labels, FeatureNames(set.FeatureNames), set.Weights, set.RowIds);
    }

    private static void Operand(TrainingSet set, int column, float constant, float[] values)
    {
        if (column < 0)
        {
            Array.Fill(values, constant);
            return;
        }
        for (var r = 0; r < values.Length; r++) values[r] = set.Features[r * set.FeatureCount + column];
    }

    internal sealed record ResolvedFeature(DerivedFeature Feature, int LeftColumn, int RightColumn);

    private sealed class DerivedModel(IFittedModel model, DerivedFeaturesLearner learner) : IFittedModel
    {
        public LearningTask Task => model.Task;
        public int Classes => model.Classes;
        public int? Trees => model.Trees;
        public float[] Predict(TrainingSet set) => model.Predict(learner.Append(set));
        public void ExportOnnx(Stream stream)
        {
            using var inner = new MemoryStream();
            model.ExportOnnx(inner);
            stream.Write(DerivedFeatureGraph.Prepend(inner.ToArray(), learner._width, learner._features));
        }
    }
}

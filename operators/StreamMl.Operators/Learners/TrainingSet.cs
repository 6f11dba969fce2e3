namespace StreamMl.Operators.Learners;

/// <summary>What a model predicts.</summary>
public enum LearningTask
{
    /// <summary>Two classes, labels 0 and 1.</summary>
    Binary,
    /// <summary>More than two classes, labels 0..k-1.</summary>
    Multiclass,
    /// <summary>A real-valued target.</summary>
    Regression,
}

/// <summary>A dense, row-major [rows, features] float32 matrix with one label per row and optional row weights:
/// the matrix a fitted feature pipeline produces and the one an exported ONNX model takes as input.</summary>
public sealed class TrainingSet
{
    /// <summary>Creates a set; <paramref name="rowIds"/> defaults to 0..rows-1 (the rows' positions in the source).</summary>
    public TrainingSet(float[] features, int featureCount, float[] labels, IReadOnlyList<string>? featureNames = null,
        float[]? weights = null, int[]? rowIds = null)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentOutOfRangeException.ThrowIfLessThan(featureCount, 1);
        if (features.Length != labels.Length * featureCount)
            throw new ArgumentException(
                $"the feature matrix holds {features.Length} values, expected {labels.Length} rows x {featureCount} features");
        if (weights is not null && weights.Length != labels.Length)
            throw new ArgumentException($"{weights.Length} weights for {labels.Length} rows", nameof(weights));
        if (rowIds is not null && rowIds.Length != labels.Length)
            throw new ArgumentException($"{rowIds.Length} row ids for {labels.Length} rows", nameof(rowIds));
        Features = features;
        FeatureCount = featureCount;
        Labels = labels;
        Weights = weights;
        RowIds = rowIds ?? Enumerable.Range(0, labels.Length).ToArray();
        FeatureNames = featureNames ?? Enumerable.Range(0, featureCount).Select(i => $"f{i}").ToArray();
        if (FeatureNames.Count != featureCount)
            throw new ArgumentException($"{FeatureNames.Count} feature names for {featureCount} features", nameof(featureNames));
    }

    /// <summary>Row-major values: row r, feature f is at <c>r * FeatureCount + f</c>.</summary>
    public float[] Features { get; }

    /// <summary>Columns of the matrix.</summary>
    public int FeatureCount { get; }

    /// <summary>Rows of the matrix.</summary>
    public int Rows => Labels.Length;

    /// <summary>Target per row: 0/1 for binary, 0..k-1 for multiclass, the value for regression.</summary>
    public float[] Labels { get; }

    /// <summary>Weight per row (class weights), or null for equal weights.</summary>
    public float[]? Weights { get; }

    /// <summary>Where each row came from in the original data; <see cref="SyntheticRow"/> for rows made by resampling.</summary>
    public int[] RowIds { get; }

    /// <summary>Names of the matrix columns.</summary>
    public IReadOnlyList<string> FeatureNames { get; }

    /// <summary>The row id of a synthetic (SMOTE) row.</summary>
    public const int SyntheticRow = -1;

    /// <summary>The features of one row.</summary>
    public ReadOnlySpan<float> Row(int row) => Features.AsSpan(row * FeatureCount, FeatureCount);

    /// <summary>A new set holding the given rows, in that order (rows may repeat).</summary>
    public TrainingSet Subset(ReadOnlySpan<int> rows)
    {
        var features = new float[rows.Length * FeatureCount];
        var labels = new float[rows.Length];
        var ids = new int[rows.Length];
        var weights = Weights is null ? null : new float[rows.Length];
        for (var i = 0; i < rows.Length; i++)
        {
            var r = rows[i];
            Row(r).CopyTo(features.AsSpan(i * FeatureCount, FeatureCount));
            labels[i] = Labels[r];
            ids[i] = RowIds[r];
            if (weights is not null) weights[i] = Weights![r];
        }
        return new TrainingSet(features, FeatureCount, labels, FeatureNames, weights, ids);
    }

    /// <summary>The same rows with the given weights.</summary>
    public TrainingSet WithWeights(float[]? weights) => new(Features, FeatureCount, Labels, FeatureNames, weights, RowIds);

    /// <summary>Number of classes (max label + 1) of a classification set.</summary>
    public int ClassCount()
    {
        var max = -1;
        foreach (var label in Labels) max = Math.Max(max, (int)label);
        return max + 1;
    }

    /// <summary>Rows per class label of a classification set.</summary>
    public int[] ClassCounts()
    {
        var counts = new int[ClassCount()];
        foreach (var label in Labels) counts[(int)label]++;
        return counts;
    }
}

using StreamMl.Operators.Features.Internal;

namespace StreamMl.Operators.Features;

/// <summary>Principal component projection of several numeric features, fitted from their covariance matrix (rows
/// with a missing input are left out of the fit). Produces features <c>{Prefix}0</c> .. <c>{Prefix}(k-1)</c>; the
/// input features leave the output unless <see cref="KeepInputs"/>. Impute before PCA: a missing input gives NaN.</summary>
public sealed class PcaStep : FeatureStep
{
    private int[] _inputSlots = [];
    private int[] _outputSlots = [];

    /// <summary>Input features.</summary>
    public string[] Columns { get; set; } = [];

    /// <summary>Components kept. Default 2.</summary>
    public int Components { get; set; } = 2;

    /// <summary>Name prefix of the outputs. Default "pca".</summary>
    public string Prefix { get; set; } = "pca";

    /// <summary>Keep the input features in the output beside the components. Default false.</summary>
    public bool KeepInputs { get; set; }

    /// <summary>Fitted mean of each input.</summary>
    public float[] Mean { get; set; } = [];

    /// <summary>Fitted components, [component][input], unit length, by decreasing variance; the sign makes each
    /// component's largest-magnitude weight positive.</summary>
    public float[][] Weights { get; set; } = [];

    /// <summary>Variance along each kept component (its covariance eigenvalue).</summary>
    public double[] ExplainedVariance { get; set; } = [];

    internal override void DeclareInputs(FeatureLayout layout)
    {
        if (Columns.Length == 0) throw new FeaturePipelineException("PCA needs at least one input feature");
        _inputSlots = Columns.Select(layout.Use).ToArray();
    }

    internal override void Fit(FeatureFrame frame)
    {
        var d = Columns.Length;
        if (Components < 1 || Components > d)
            throw new FeaturePipelineException($"PCA over {d} features can keep 1 to {d} components, not {Components}");
        var mean = new double[d];
        var cov = new double[d, d];
        long n = 0;
        var row = new double[d];
        for (var r = 0; r < frame.Length; r++)
        {
            var complete = true;
            for (var i = 0; i < d; i++)
            {
                row[i] = frame.Read(_inputSlots[i])[r];
                if (double.IsNaN(row[i])) complete = false;
            }
            if (!complete) continue;
            n++;
            for (var i = 0; i < d; i++) mean[i] += row[i];
        }
        if (n < 2) throw new FeaturePipelineException($"PCA over ({string.Join(", ", Columns)}) needs at least 2 complete training rows, got {n}");
        for (var i = 0; i < d; i++) mean[i] /= n;
        for (var r = 0; r < frame.Length; r++)
        {
            var complete = true;
            for (var i = 0; i < d; i++)
            {
                row[i] = frame.Read(_inputSlots[i])[r] - mean[i];
                if (double.IsNaN(row[i])) complete = false;
            }
            if (!complete) continue;
            for (var i = 0; i < d; i++)
                for (var j = i; j < d; j++) cov[i, j] += row[i] * row[j];
        }
        for (var i = 0; i < d; i++)
            for (var j = i; j < d; j++) cov[j, i] = cov[i, j] /= n - 1;

        var (values, vectors) = SymmetricEigen.Decompose(cov);
        var order = Enumerable.Range(0, d).OrderByDescending(k => values[k]).ThenBy(k => k).Take(Components).ToArray();
        Mean = mean.Select(m => (float)m).ToArray();
        ExplainedVariance = order.Select(k => values[k]).ToArray();
        Weights = new float[Components][];
        for (var c = 0; c < Components; c++)
        {
            var k = order[c];
            var largest = 0;
            for (var i = 1; i < d; i++) if (Math.Abs(vectors[i, k]) > Math.Abs(vectors[largest, k])) largest = i;
            var sign = vectors[largest, k] < 0 ? -1.0 : 1.0;
            Weights[c] = new float[d];
            for (var i = 0; i < d; i++) Weights[c][i] = (float)(sign * vectors[i, k]);
        }
    }

    internal override void DeclareOutputs(FeatureLayout layout)
    {
        if (Weights.Length != Components || Mean.Length != Columns.Length)
            throw new FeaturePipelineException($"PCA over ({string.Join(", ", Columns)}) is not fitted");
        if (!KeepInputs) foreach (var slot in _inputSlots) layout.Consume(slot);
        _outputSlots = new int[Components];
        for (var c = 0; c < Components; c++) _outputSlots[c] = layout.Add($"{Prefix}{c}");
    }

    internal override void Apply(FeatureFrame frame)
    {
        for (var c = 0; c < _outputSlots.Length; c++)
        {
            var acc = frame.Write(_outputSlots[c]);
            acc.Clear();
            var w = Weights[c];
            for (var i = 0; i < _inputSlots.Length; i++)
                FeatureKernels.AccumulateCentered(acc, frame.Read(_inputSlots[i]), Mean[i], w[i]);
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"Pca({string.Join(", ", Columns)} -> {Components})";
}

/// <summary>Eigenvalues and eigenvectors of a small symmetric matrix by cyclic Jacobi rotations: slow for large
/// matrices but exact to rounding and free of dependencies; feature counts here are tens, not thousands.</summary>
internal static class SymmetricEigen
{
    /// <summary>Returns the eigenvalues and the eigenvectors as the columns of a matrix.</summary>
    public static (double[] Values, double[,] Vectors) Decompose(double[,] matrix)
    {
        var n = matrix.GetLength(0);
        var a = (double[,])matrix.Clone();
        var v = new double[n, n];
        for (var i = 0; i < n; i++) v[i, i] = 1;
        for (var sweep = 0; sweep < 100; sweep++)
        {
            double off = 0;
            for (var p = 0; p < n; p++)
                for (var q = p + 1; q < n; q++) off += a[p, q] * a[p, q];
            if (off < 1e-30) break;
            for (var p = 0; p < n; p++)
            {
                for (var q = p + 1; q < n; q++)
                {
                    if (Math.Abs(a[p, q]) < 1e-300) continue;
                    var theta = (a[q, q] - a[p, p]) / (2 * a[p, q]);
                    var t = Math.Sign(theta) / (Math.Abs(theta) + Math.Sqrt(theta * theta + 1));
                    if (theta == 0) t = 1;
                    var c = 1 / Math.Sqrt(t * t + 1);
                    var s = t * c;
                    for (var k = 0; k < n; k++)
                    {
                        var akp = a[k, p];
                        var akq = a[k, q];
                        a[k, p] = c * akp - s * akq;
                        a[k, q] = s * akp + c * akq;
                    }
                    for (var k = 0; k < n; k++)
                    {
                        var apk = a[p, k];
                        var aqk = a[q, k];
                        a[p, k] = c * apk - s * aqk;
                        a[q, k] = s * apk + c * aqk;
                    }
                    for (var k = 0; k < n; k++)
                    {
                        var vkp = v[k, p];
                        var vkq = v[k, q];
                        v[k, p] = c * vkp - s * vkq;
                        v[k, q] = s * vkp + c * vkq;
                    }
                }
            }
        }
        var values = new double[n];
        for (var i = 0; i < n; i++) values[i] = a[i, i];
        return (values, v);
    }
}

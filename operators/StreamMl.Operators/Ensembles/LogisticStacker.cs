namespace StreamMl.Operators.Ensembles;

/// <summary>The stacker of a binary ensemble: p = σ(b + Σ wᵢ·logit(clip(pᵢ))), the members' probabilities clipped to
/// [<see cref="Epsilon"/>, 1 − <see cref="Epsilon"/>]. Fitted by Newton's method on the penalised log loss (few members,
/// so the (members + 1)² Hessian is solved directly).</summary>
public sealed class LogisticStacker
{
    /// <summary>Probabilities are clipped to [Epsilon, 1 − Epsilon] before the logit.</summary>
    public const float Epsilon = 1e-6f;

    internal LogisticStacker(float[] weights, float bias)
    {
        Weights = weights;
        Bias = bias;
    }

    /// <summary>One weight per member.</summary>
    public IReadOnlyList<float> Weights { get; }

    /// <summary>The intercept.</summary>
    public float Bias { get; }

    /// <summary>The logit of a clipped probability, in float as the ONNX graph computes it: log(q / (1 − q)).</summary>
    public static float Logit(float probability)
    {
        var q = MathF.Min(MathF.Max(probability, Epsilon), 1f - Epsilon);
        return MathF.Log(q / (1f - q));
    }

    /// <summary>The combined probability of one row from the members' probabilities (in member order).</summary>
    public (float Score, float Probability) Combine(ReadOnlySpan<float> probabilities)
    {
        var z = 0f;
        for (var m = 0; m < probabilities.Length; m++) z += Weights[m] * Logit(probabilities[m]);
        z += Bias;
        return (z, 1f / (1f + MathF.Exp(-z)));
    }

    /// <summary>Fits on row-major [rows, members] probabilities and 0/1 labels (optionally weighted).</summary>
    public static LogisticStacker Fit(float[] probabilities, int members, float[] labels, float[]? rowWeights, double l2)
    {
        var rows = labels.Length;
        var width = members + 1;
        var x = new double[rows * width];
        for (var r = 0; r < rows; r++)
        {
            for (var m = 0; m < members; m++) x[r * width + m] = Logit(probabilities[r * members + m]);
            x[r * width + members] = 1;
        }
        var beta = new double[width];
        var penalty = l2 * rows;
        double Loss(double[] b)
        {
            var loss = 0.0;
            for (var r = 0; r < rows; r++)
            {
                var z = 0.0;
                for (var j = 0; j < width; j++) z += b[j] * x[r * width + j];
                // log(1 + e^z) − y·z, stable for large |z|.
                loss += (rowWeights?[r] ?? 1.0) * (Math.Max(z, 0) + Math.Log(1 + Math.Exp(-Math.Abs(z))) - labels[r] * z);
            }
            for (var j = 0; j < members; j++) loss += 0.5 * penalty * b[j] * b[j];
            return loss;
        }
        for (var iteration = 0; iteration < 100; iteration++)
        {
            var gradient = new double[width];
            var hessian = new double[width, width];
            for (var r = 0; r < rows; r++)
            {
                var z = 0.0;
                for (var j = 0; j < width; j++) z += beta[j] * x[r * width + j];
                var p = 1 / (1 + Math.Exp(-z));
                var w = rowWeights?[r] ?? 1.0;
                var residual = w * (p - labels[r]);
                var curvature = w * Math.Max(p * (1 - p), 1e-12);
                for (var j = 0; j < width; j++)
                {
                    gradient[j] += residual * x[r * width + j];
                    for (var k = 0; k <= j; k++) hessian[j, k] += curvature * x[r * width + j] * x[r * width + k];
                }
            }
            for (var j = 0; j < members; j++)
            {
                gradient[j] += penalty * beta[j];
                hessian[j, j] += penalty;
            }
            for (var j = 0; j < width; j++)
                for (var k = j + 1; k < width; k++) hessian[j, k] = hessian[k, j];
            var step = Solve(hessian, gradient);
            // Damped Newton: halve the step until the penalised loss does not rise (near-separable members overshoot).
            var before = Loss(beta);
            var scale = 1.0;
            var candidate = new double[width];
            for (var halving = 0; halving < 40; halving++, scale /= 2)
            {
                for (var j = 0; j < width; j++) candidate[j] = beta[j] - scale * step[j];
                if (Loss(candidate) <= before) break;
            }
            var largest = 0.0;
            for (var j = 0; j < width; j++)
            {
                largest = Math.Max(largest, Math.Abs(candidate[j] - beta[j]));
                beta[j] = candidate[j];
            }
            if (largest < 1e-10) break;
        }
        return new LogisticStacker(beta.Take(members).Select(b => (float)b).ToArray(), (float)beta[members]);
    }

    /// <summary>Gaussian elimination with partial pivoting; a singular direction gets no step.</summary>
    private static double[] Solve(double[,] a, double[] b)
    {
        var n = b.Length;
        var m = (double[,])a.Clone();
        var v = (double[])b.Clone();
        for (var col = 0; col < n; col++)
        {
            var pivot = col;
            for (var r = col + 1; r < n; r++) if (Math.Abs(m[r, col]) > Math.Abs(m[pivot, col])) pivot = r;
            if (Math.Abs(m[pivot, col]) < 1e-300) continue;
            if (pivot != col)
            {
                for (var k = 0; k < n; k++) (m[col, k], m[pivot, k]) = (m[pivot, k], m[col, k]);
                (v[col], v[pivot]) = (v[pivot], v[col]);
            }
            for (var r = col + 1; r < n; r++)
            {
                var f = m[r, col] / m[col, col];
                if (f == 0) continue;
                for (var k = col; k < n; k++) m[r, k] -= f * m[col, k];
                v[r] -= f * v[col];
            }
        }
        var result = new double[n];
        for (var r = n - 1; r >= 0; r--)
        {
            if (Math.Abs(m[r, r]) < 1e-300) continue;
            var s = v[r];
            for (var k = r + 1; k < n; k++) s -= m[r, k] * result[k];
            result[r] = s / m[r, r];
        }
        return result;
    }
}

namespace StreamMl.Recommendations.Tests;

/// <summary>Textbook dense linear algebra in double precision, as the reference for the float SIMD kernels.</summary>
internal static class NaiveLinearAlgebra
{
    /// <summary>Gauss-Jordan inverse with partial pivoting.</summary>
    public static double[,] Inverse(double[,] a)
    {
        var n = a.GetLength(0);
        var m = new double[n, 2 * n];
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < n; j++) m[i, j] = a[i, j];
            m[i, n + i] = 1;
        }
        for (var col = 0; col < n; col++)
        {
            var pivot = col;
            for (var r = col + 1; r < n; r++) if (Math.Abs(m[r, col]) > Math.Abs(m[pivot, col])) pivot = r;
            for (var c = 0; c < 2 * n; c++) (m[col, c], m[pivot, c]) = (m[pivot, c], m[col, c]);
            var p = m[col, col];
            for (var c = 0; c < 2 * n; c++) m[col, c] /= p;
            for (var r = 0; r < n; r++)
            {
                if (r == col) continue;
                var f = m[r, col];
                for (var c = 0; c < 2 * n; c++) m[r, c] -= f * m[col, c];
            }
        }
        var inverse = new double[n, n];
        for (var i = 0; i < n; i++) for (var j = 0; j < n; j++) inverse[i, j] = m[i, n + j];
        return inverse;
    }

    /// <summary>EASE in closed form: B = I − P·diag(1/diag(P)), P = (XᵀX + λI)⁻¹.</summary>
    public static double[,] Ease(double[,] x, double lambda)
    {
        int users = x.GetLength(0), items = x.GetLength(1);
        var gram = new double[items, items];
        for (var i = 0; i < items; i++)
            for (var j = 0; j < items; j++)
            {
                double sum = 0;
                for (var u = 0; u < users; u++) sum += x[u, i] * x[u, j];
                gram[i, j] = sum + (i == j ? lambda : 0);
            }
        var p = Inverse(gram);
        var b = new double[items, items];
        for (var i = 0; i < items; i++)
            for (var j = 0; j < items; j++) b[i, j] = (i == j ? 1 : 0) - p[i, j] / p[j, j];
        return b;
    }
}

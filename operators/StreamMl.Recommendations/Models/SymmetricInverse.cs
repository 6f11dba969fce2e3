using System.Numerics.Tensors;

namespace StreamMl.Recommendations.Models;

/// <summary>Inverts a symmetric positive definite matrix in place (row-major, n × n, float) by Cholesky: A = L·Lᵀ, then
/// U = L⁻ᵀ, then A⁻¹ = U·Uᵀ. Every inner loop is a dot product of two contiguous row segments
/// (<see cref="TensorPrimitives.Dot(ReadOnlySpan{float}, ReadOnlySpan{float})"/>, SIMD), and the three steps share the one
/// buffer: L in the lower triangle, U in the upper, the inverse written back over L. Checked against a plain
/// Gauss-Jordan inverse in SymmetricInverseTests.</summary>
internal static class SymmetricInverse
{
    /// <summary>Replaces <paramref name="matrix"/> with its inverse; false when it is not positive definite (a pivot
    /// is not positive), leaving the buffer undefined.</summary>
    public static bool TryInvertInPlace(Span<float> matrix, int n, CancellationToken cancellation = default)
    {
        if (matrix.Length < (long)n * n) throw new ArgumentException($"a {n} × {n} matrix needs {(long)n * n} values, got {matrix.Length}", nameof(matrix));
        var diagonal = new float[n];
        // 1. Cholesky (Crout, row by row): L[i][j] = (A[i][j] − L[i][..j]·L[j][..j]) / L[j][j].
        for (var i = 0; i < n; i++)
        {
            cancellation.ThrowIfCancellationRequested();
            var rowI = matrix.Slice(i * n, n);
            for (var j = 0; j < i; j++)
            {
                var rowJ = matrix.Slice(j * n, j);
                rowI[j] = (rowI[j] - TensorPrimitives.Dot(rowI[..j], rowJ)) / diagonal[j];
            }
            var pivot = rowI[i] - TensorPrimitives.Dot(rowI[..i], rowI[..i]);
            if (!(pivot > 0)) return false;
            diagonal[i] = MathF.Sqrt(pivot);
            rowI[i] = diagonal[i];
        }
        // 2. U = L⁻ᵀ in the upper triangle: U[j][i] = −(L[i][j..i]·U[j][j..i]) / L[i][i], U[i][i] = 1 / L[i][i].
        //    L[i][j..i] is row i left of the diagonal; U[j][j..i] is row j's upper part, already computed for columns < i.
        for (var i = 0; i < n; i++)
        {
            cancellation.ThrowIfCancellationRequested();
            var rowI = matrix.Slice(i * n, n);
            for (var j = 0; j < i; j++)
            {
                var rowJ = matrix.Slice(j * n, n);
                // U[j][j] lives on the diagonal, which still holds L[j][j] until row j is done: use 1 / L[j][j] for it.
                var dot = rowI[j] / diagonal[j] + TensorPrimitives.Dot(rowI.Slice(j + 1, i - j - 1), rowJ.Slice(j + 1, i - j - 1));
                rowJ[i] = -dot / diagonal[i];
            }
        }
        for (var i = 0; i < n; i++) matrix[i * n + i] = 1f / diagonal[i];
        // 3. A⁻¹[i][j] = U[i][i..]·U[j][i..] for j ≤ i (U[j][k] = 0 for k < j); written to the strict lower triangle,
        //    whose L values are no longer needed, and the diagonal kept aside until every row is done.
        var inverseDiagonal = diagonal; // reused: L's diagonal is not needed any more
        for (var i = 0; i < n; i++)
        {
            cancellation.ThrowIfCancellationRequested();
            var tailI = matrix.Slice(i * n + i, n - i);
            for (var j = 0; j < i; j++) matrix[i * n + j] = TensorPrimitives.Dot(tailI, matrix.Slice(j * n + i, n - i));
            inverseDiagonal[i] = TensorPrimitives.Dot(tailI, tailI);
        }
        for (var i = 0; i < n; i++)
        {
            matrix[i * n + i] = inverseDiagonal[i];
            for (var j = 0; j < i; j++) matrix[j * n + i] = matrix[i * n + j];
        }
        return true;
    }
}

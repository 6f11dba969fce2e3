using StreamMl.Recommendations.Models;

namespace StreamMl.Recommendations.Tests;

/// <summary>The in-place Cholesky inverse against Gauss-Jordan in double precision.</summary>
public sealed class SymmetricInverseTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(7, 3)]
    [InlineData(33, 4)] // not a multiple of the vector width
    [InlineData(120, 5)]
    public void The_inverse_matches_gauss_jordan(int n, int seed)
    {
        var random = new Random(seed);
        // A = MᵀM + n·I is symmetric positive definite and reasonably conditioned.
        var m = new double[n, n];
        for (var i = 0; i < n; i++) for (var j = 0; j < n; j++) m[i, j] = random.NextDouble() * 2 - 1;
        var a = new double[n, n];
        for (var i = 0; i < n; i++)
            for (var j = 0; j < n; j++)
            {
                double sum = i == j ? n : 0;
                for (var k = 0; k < n; k++) sum += m[k, i] * m[k, j];
                a[i, j] = sum;
            }
        var buffer = new float[n * n];
        for (var i = 0; i < n; i++) for (var j = 0; j < n; j++) buffer[i * n + j] = (float)a[i, j];

        Assert.True(SymmetricInverse.TryInvertInPlace(buffer, n));

        var expected = NaiveLinearAlgebra.Inverse(a);
        var scale = 0.0;
        for (var i = 0; i < n; i++) for (var j = 0; j < n; j++) scale = Math.Max(scale, Math.Abs(expected[i, j]));
        for (var i = 0; i < n; i++)
            for (var j = 0; j < n; j++)
                Assert.True(Math.Abs(expected[i, j] - buffer[i * n + j]) <= 1e-4 * scale,
                    $"inverse[{i},{j}] = {buffer[i * n + j]}, expected {expected[i, j]}");
    }

    [Fact]
    public void A_matrix_that_is_not_positive_definite_is_reported_not_inverted()
    {
        float[] indefinite = [1, 2, 2, 1]; // eigenvalues 3 and −1
        Assert.False(SymmetricInverse.TryInvertInPlace(indefinite, 2));
    }
}

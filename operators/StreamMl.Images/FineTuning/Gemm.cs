using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace StreamMl.Images.FineTuning;

/// <summary>Row-major single-precision matrix products for the fine-tuning kernels: <c>C = A·B</c> (or
/// <c>C += A·B</c>) with a register-blocked SIMD kernel (4 rows × 2 vectors of C held in registers while the shared
/// dimension streams), columns split into strips that stay in cache and run in parallel.</summary>
internal static class Gemm
{
    private const int Rows = 4;
    private static readonly int s_strip = 2 * Vector<float>.Count;

    /// <summary>Sets (or with <paramref name="accumulate"/> adds to) <paramref name="c"/>[m×n] the product of
    /// <paramref name="a"/>[m×k] and <paramref name="b"/>[k×n].</summary>
    public static void Multiply(float[] a, float[] b, float[] c, int m, int k, int n, bool accumulate = false)
    {
        if (a.Length < m * k || b.Length < k * n || c.Length < m * n)
            throw new ArgumentException($"a {m}×{k}, b {k}×{n} and c {m}×{n} do not fit the arrays given");
        var strips = (n + s_strip - 1) / s_strip;
        // Groups of strips per task keep each B strip (k × 16 floats) in cache across all rows of A.
        var work = (long)m * k * n;
        if (work < 1 << 18 || strips < 2)
        {
            MultiplyStrips(a, b, c, m, k, n, 0, strips, accumulate);
            return;
        }
        var tasks = Math.Min(strips, Environment.ProcessorCount * 4);
        Parallel.For(0, tasks, t =>
        {
            var first = (int)((long)strips * t / tasks);
            var last = (int)((long)strips * (t + 1) / tasks);
            MultiplyStrips(a, b, c, m, k, n, first, last, accumulate);
        });
    }

    /// <summary>Writes the transpose of <paramref name="source"/>[rows×columns] into <paramref name="destination"/>[columns×rows].</summary>
    public static void Transpose(float[] source, float[] destination, int rows, int columns)
    {
        const int tile = 32;
        for (var r0 = 0; r0 < rows; r0 += tile)
            for (var c0 = 0; c0 < columns; c0 += tile)
            {
                var rEnd = Math.Min(rows, r0 + tile);
                var cEnd = Math.Min(columns, c0 + tile);
                for (var r = r0; r < rEnd; r++)
                    for (var c = c0; c < cEnd; c++)
                        destination[c * rows + r] = source[r * columns + c];
            }
    }

    private static void MultiplyStrips(float[] a, float[] b, float[] c, int m, int k, int n, int firstStrip, int lastStrip, bool accumulate)
    {
        for (var strip = firstStrip; strip < lastStrip; strip++)
        {
            var j = strip * s_strip;
            var full = j + s_strip <= n;
            var i = 0;
            if (full)
            {
                for (; i + Rows <= m; i += Rows) Block4(a, b, c, i, j, k, n, accumulate);
            }
            for (; i < m; i++) RowScalar(a, b, c, i, j, Math.Min(n, j + s_strip), k, n, accumulate);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Block4(float[] a, float[] b, float[] c, int i, int j, int k, int n, bool accumulate)
    {
        var w = Vector<float>.Count;
        Vector<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector<float> c20 = default, c21 = default, c30 = default, c31 = default;
        ref var bRef = ref MemoryMarshal.GetArrayDataReference(b);
        ref var aRef = ref MemoryMarshal.GetArrayDataReference(a);
        var a0 = i * k;
        var a1 = a0 + k;
        var a2 = a1 + k;
        var a3 = a2 + k;
        for (var p = 0; p < k; p++)
        {
            ref var row = ref Unsafe.Add(ref bRef, p * n + j);
            var b0 = Unsafe.As<float, Vector<float>>(ref row);
            var b1 = Unsafe.As<float, Vector<float>>(ref Unsafe.Add(ref row, w));
            var x0 = new Vector<float>(Unsafe.Add(ref aRef, a0 + p));
            var x1 = new Vector<float>(Unsafe.Add(ref aRef, a1 + p));
            var x2 = new Vector<float>(Unsafe.Add(ref aRef, a2 + p));
            var x3 = new Vector<float>(Unsafe.Add(ref aRef, a3 + p));
            c00 = Vector.FusedMultiplyAdd(x0, b0, c00); c01 = Vector.FusedMultiplyAdd(x0, b1, c01);
            c10 = Vector.FusedMultiplyAdd(x1, b0, c10); c11 = Vector.FusedMultiplyAdd(x1, b1, c11);
            c20 = Vector.FusedMultiplyAdd(x2, b0, c20); c21 = Vector.FusedMultiplyAdd(x2, b1, c21);
            c30 = Vector.FusedMultiplyAdd(x3, b0, c30); c31 = Vector.FusedMultiplyAdd(x3, b1, c31);
        }
        Store(c, i * n + j, c00, c01, accumulate);
        Store(c, (i + 1) * n + j, c10, c11, accumulate);
        Store(c, (i + 2) * n + j, c20, c21, accumulate);
        Store(c, (i + 3) * n + j, c30, c31, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float[] c, int offset, Vector<float> low, Vector<float> high, bool accumulate)
    {
        var w = Vector<float>.Count;
        ref var target = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(c), offset);
        ref var lowRef = ref Unsafe.As<float, Vector<float>>(ref target);
        ref var highRef = ref Unsafe.As<float, Vector<float>>(ref Unsafe.Add(ref target, w));
        if (accumulate)
        {
            lowRef += low;
            highRef += high;
        }
        else
        {
            lowRef = low;
            highRef = high;
        }
    }

    private static void RowScalar(float[] a, float[] b, float[] c, int i, int j, int end, int k, int n, bool accumulate)
    {
        Span<float> sums = stackalloc float[end - j];
        sums.Clear();
        for (var p = 0; p < k; p++)
        {
            var x = a[i * k + p];
            var row = p * n;
            for (var q = j; q < end; q++) sums[q - j] += x * b[row + q];
        }
        for (var q = j; q < end; q++) c[i * n + q] = accumulate ? c[i * n + q] + sums[q - j] : sums[q - j];
    }
}

using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace StreamMl.Operators.Features.Internal;

/// <summary>The element-wise kernels behind the feature steps. Each has a Vector512 loop, a Vector256 loop and a scalar
/// tail that doubles as the fallback. The vector loops perform exactly the scalar operations in the same order (no
/// fused multiply-add), so vector and scalar results are bit-identical; tests hold them to that.</summary>
internal static class FeatureKernels
{
    // Thread-static so a test that forces the scalar path cannot change the path of tests running beside it.
    [ThreadStatic]
    private static bool t_forceScalar;

    /// <summary>When true every kernel on this thread takes its scalar path: tests flip it to compare both paths.</summary>
    public static bool ForceScalar
    {
        get => t_forceScalar;
        set => t_forceScalar = value;
    }

    private static bool Use512 => !ForceScalar && Vector512.IsHardwareAccelerated;

    private static bool Use256 => !ForceScalar && Vector256.IsHardwareAccelerated;

    /// <summary>x = (x - shift) * scale, in place: standard, min-max and robust scaling.</summary>
    public static void ShiftScale(Span<float> x, float shift, float scale) => ShiftScale(x, x, shift, scale);

    /// <summary>y = (x - shift) * scale; <paramref name="y"/> may be <paramref name="x"/>.</summary>
    public static void ShiftScale(ReadOnlySpan<float> x, Span<float> y, float shift, float scale)
    {
        ref var src = ref MemoryMarshal.GetReference(x);
        ref var start = ref MemoryMarshal.GetReference(y);
        var n = Math.Min(x.Length, y.Length);
        var i = 0;
        if (Use512 && n >= Vector512<float>.Count)
        {
            var s = Vector512.Create(shift);
            var k = Vector512.Create(scale);
            for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                Vector512.StoreUnsafe((Vector512.LoadUnsafe(ref Unsafe.Add(ref src, i)) - s) * k, ref Unsafe.Add(ref start, i));
            }
        }
        if (Use256 && n - i >= Vector256<float>.Count)
        {
            var s = Vector256.Create(shift);
            var k = Vector256.Create(scale);
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                Vector256.StoreUnsafe((Vector256.LoadUnsafe(ref Unsafe.Add(ref src, i)) - s) * k, ref Unsafe.Add(ref start, i));
            }
        }
        for (; i < n; i++) Unsafe.Add(ref start, i) = (Unsafe.Add(ref src, i) - shift) * scale;
    }

    /// <summary>Replaces NaN (missing) values with <paramref name="value"/>, in place.</summary>
    public static void ReplaceNaN(Span<float> x, float value) => ReplaceNaN(x, x, value);

    /// <summary>y = isNaN(x) ? value : x; <paramref name="y"/> may be <paramref name="x"/>.</summary>
    public static void ReplaceNaN(ReadOnlySpan<float> x, Span<float> y, float value)
    {
        ref var src = ref MemoryMarshal.GetReference(x);
        ref var start = ref MemoryMarshal.GetReference(y);
        var n = Math.Min(x.Length, y.Length);
        var i = 0;
        if (Use512 && n >= Vector512<float>.Count)
        {
            var v = Vector512.Create(value);
            for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var a = Vector512.LoadUnsafe(ref Unsafe.Add(ref src, i));
                // x == x is false only for NaN.
                Vector512.StoreUnsafe(Vector512.ConditionalSelect(Vector512.Equals(a, a), a, v), ref Unsafe.Add(ref start, i));
            }
        }
        if (Use256 && n - i >= Vector256<float>.Count)
        {
            var v = Vector256.Create(value);
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var a = Vector256.LoadUnsafe(ref Unsafe.Add(ref src, i));
                Vector256.StoreUnsafe(Vector256.ConditionalSelect(Vector256.Equals(a, a), a, v), ref Unsafe.Add(ref start, i));
            }
        }
        for (; i < n; i++)
        {
            var a = Unsafe.Add(ref src, i);
            Unsafe.Add(ref start, i) = float.IsNaN(a) ? value : a;
        }
    }

    /// <summary>Clamps to [lo, hi] in place; NaN stays NaN (a missing value is not an extreme one).</summary>
    public static void Clip(Span<float> x, float lo, float hi) => Clip(x, x, lo, hi);

    /// <summary>y = clamp(x, lo, hi), NaN kept; <paramref name="y"/> may be <paramref name="x"/>.</summary>
    public static void Clip(ReadOnlySpan<float> x, Span<float> y, float lo, float hi)
    {
        ref var src = ref MemoryMarshal.GetReference(x);
        ref var start = ref MemoryMarshal.GetReference(y);
        var n = Math.Min(x.Length, y.Length);
        var i = 0;
        if (Use512 && n >= Vector512<float>.Count)
        {
            var l = Vector512.Create(lo);
            var h = Vector512.Create(hi);
            for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var a = Vector512.LoadUnsafe(ref Unsafe.Add(ref src, i));
                a = Vector512.ConditionalSelect(Vector512.LessThan(a, l), l, a);
                a = Vector512.ConditionalSelect(Vector512.GreaterThan(a, h), h, a);
                Vector512.StoreUnsafe(a, ref Unsafe.Add(ref start, i));
            }
        }
        if (Use256 && n - i >= Vector256<float>.Count)
        {
            var l = Vector256.Create(lo);
            var h = Vector256.Create(hi);
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var a = Vector256.LoadUnsafe(ref Unsafe.Add(ref src, i));
                a = Vector256.ConditionalSelect(Vector256.LessThan(a, l), l, a);
                a = Vector256.ConditionalSelect(Vector256.GreaterThan(a, h), h, a);
                Vector256.StoreUnsafe(a, ref Unsafe.Add(ref start, i));
            }
        }
        for (; i < n; i++)
        {
            var a = Unsafe.Add(ref src, i);
            a = a < lo ? lo : a;
            Unsafe.Add(ref start, i) = a > hi ? hi : a;
        }
    }

    /// <summary>x = ln(1 + x) in place. The vector path is TensorPrimitives' vectorised log; it may differ from the
    /// scalar <see cref="MathF.Log(float)"/> in the last unit of precision, which the tests allow.</summary>
    public static void Log1p(Span<float> x) => Log1p(x, x);

    /// <summary>y = ln(1 + x); <paramref name="y"/> may be <paramref name="x"/>.</summary>
    public static void Log1p(ReadOnlySpan<float> x, Span<float> y)
    {
        if (!ForceScalar)
        {
            TensorPrimitives.Add(x, 1f, y);
            TensorPrimitives.Log(y, y);
            return;
        }
        for (var i = 0; i < x.Length; i++) y[i] = MathF.Log(1f + x[i]);
    }

    /// <summary>Replaces x by the number of <paramref name="edges"/> (ascending) that are &lt;= x, so values fall in
    /// bins 0..edges.Length; NaN stays NaN.</summary>
    public static void Bin(Span<float> x, ReadOnlySpan<float> edges) => Bin(x, x, edges);

    /// <summary>Out-of-place <see cref="Bin(Span{float}, ReadOnlySpan{float})"/>; <paramref name="y"/> may be <paramref name="x"/>.</summary>
    public static void Bin(ReadOnlySpan<float> x, Span<float> y, ReadOnlySpan<float> edges)
    {
        ref var src = ref MemoryMarshal.GetReference(x);
        ref var start = ref MemoryMarshal.GetReference(y);
        var n = Math.Min(x.Length, y.Length);
        var i = 0;
        if (Use256 && n >= Vector256<float>.Count && edges.Length <= 64)
        {
            var nan = Vector256.Create(float.NaN);
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var a = Vector256.LoadUnsafe(ref Unsafe.Add(ref src, i));
                var count = Vector256<float>.Zero;
                var one = Vector256<float>.One;
                foreach (var e in edges)
                    count += Vector256.GreaterThanOrEqual(a, Vector256.Create(e)) & one;
                Vector256.StoreUnsafe(Vector256.ConditionalSelect(Vector256.Equals(a, a), count, nan), ref Unsafe.Add(ref start, i));
            }
        }
        for (; i < n; i++)
        {
            var a = Unsafe.Add(ref src, i);
            var count = 0f;
            foreach (var e in edges)
                if (a >= e) count += 1f;
            Unsafe.Add(ref start, i) = float.IsNaN(a) ? a : count;
        }
    }

    /// <summary>acc += (x - mean) * weight, element-wise: one term of a PCA projection.</summary>
    public static void AccumulateCentered(Span<float> acc, ReadOnlySpan<float> x, float mean, float weight)
    {
        ref var a0 = ref MemoryMarshal.GetReference(acc);
        ref var x0 = ref MemoryMarshal.GetReference(x);
        var n = acc.Length;
        var i = 0;
        if (Use512 && n >= Vector512<float>.Count)
        {
            var m = Vector512.Create(mean);
            var w = Vector512.Create(weight);
            for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                ref var pa = ref Unsafe.Add(ref a0, i);
                var t = (Vector512.LoadUnsafe(ref Unsafe.Add(ref x0, i)) - m) * w;
                Vector512.StoreUnsafe(Vector512.LoadUnsafe(ref pa) + t, ref pa);
            }
        }
        if (Use256 && n - i >= Vector256<float>.Count)
        {
            var m = Vector256.Create(mean);
            var w = Vector256.Create(weight);
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                ref var pa = ref Unsafe.Add(ref a0, i);
                var t = (Vector256.LoadUnsafe(ref Unsafe.Add(ref x0, i)) - m) * w;
                Vector256.StoreUnsafe(Vector256.LoadUnsafe(ref pa) + t, ref pa);
            }
        }
        for (; i < n; i++)
        {
            var t = (Unsafe.Add(ref x0, i) - mean) * weight;
            Unsafe.Add(ref a0, i) += t;
        }
    }

    /// <summary>y = a op b element-wise, where a result that is not a finite number (a division by zero, an overflow, a
    /// missing operand) becomes NaN, the missing value; <paramref name="y"/> may be <paramref name="a"/> or
    /// <paramref name="b"/>. Every result that is not finite is the same NaN on both paths, so they are bit-identical.</summary>
    public static void Derive(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y, DeriveOperator op)
    {
        switch (op)
        {
            case DeriveOperator.Add: Derive<AddOp>(a, b, y); break;
            case DeriveOperator.Subtract: Derive<SubtractOp>(a, b, y); break;
            case DeriveOperator.Multiply: Derive<MultiplyOp>(a, b, y); break;
            default: Derive<DivideOp>(a, b, y); break;
        }
    }

    // One generic loop per operator: the struct type parameter lets the JIT inline the operation (no per-element switch).
    private static void Derive<TOp>(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) where TOp : struct, IBinaryFloatOp
    {
        ref var a0 = ref MemoryMarshal.GetReference(a);
        ref var b0 = ref MemoryMarshal.GetReference(b);
        ref var y0 = ref MemoryMarshal.GetReference(y);
        var n = Math.Min(Math.Min(a.Length, b.Length), y.Length);
        var i = 0;
        if (Use512 && n >= Vector512<float>.Count)
        {
            var infinity = Vector512.Create(float.PositiveInfinity);
            var nan = Vector512.Create(float.NaN);
            for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var r = TOp.Apply(Vector512.LoadUnsafe(ref Unsafe.Add(ref a0, i)), Vector512.LoadUnsafe(ref Unsafe.Add(ref b0, i)));
                // |r| < inf is false for NaN and for both infinities.
                Vector512.StoreUnsafe(Vector512.ConditionalSelect(Vector512.LessThan(Vector512.Abs(r), infinity), r, nan), ref Unsafe.Add(ref y0, i));
            }
        }
        if (Use256 && n - i >= Vector256<float>.Count)
        {
            var infinity = Vector256.Create(float.PositiveInfinity);
            var nan = Vector256.Create(float.NaN);
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var r = TOp.Apply(Vector256.LoadUnsafe(ref Unsafe.Add(ref a0, i)), Vector256.LoadUnsafe(ref Unsafe.Add(ref b0, i)));
                Vector256.StoreUnsafe(Vector256.ConditionalSelect(Vector256.LessThan(Vector256.Abs(r), infinity), r, nan), ref Unsafe.Add(ref y0, i));
            }
        }
        for (; i < n; i++)
        {
            var r = TOp.Apply(Unsafe.Add(ref a0, i), Unsafe.Add(ref b0, i));
            Unsafe.Add(ref y0, i) = float.IsFinite(r) ? r : float.NaN;
        }
    }

    private interface IBinaryFloatOp
    {
        static abstract float Apply(float a, float b);
        static abstract Vector256<float> Apply(Vector256<float> a, Vector256<float> b);
        static abstract Vector512<float> Apply(Vector512<float> a, Vector512<float> b);
    }

    private readonly struct AddOp : IBinaryFloatOp
    {
        public static float Apply(float a, float b) => a + b;
        public static Vector256<float> Apply(Vector256<float> a, Vector256<float> b) => a + b;
        public static Vector512<float> Apply(Vector512<float> a, Vector512<float> b) => a + b;
    }

    private readonly struct SubtractOp : IBinaryFloatOp
    {
        public static float Apply(float a, float b) => a - b;
        public static Vector256<float> Apply(Vector256<float> a, Vector256<float> b) => a - b;
        public static Vector512<float> Apply(Vector512<float> a, Vector512<float> b) => a - b;
    }

    private readonly struct MultiplyOp : IBinaryFloatOp
    {
        public static float Apply(float a, float b) => a * b;
        public static Vector256<float> Apply(Vector256<float> a, Vector256<float> b) => a * b;
        public static Vector512<float> Apply(Vector512<float> a, Vector512<float> b) => a * b;
    }

    private readonly struct DivideOp : IBinaryFloatOp
    {
        public static float Apply(float a, float b) => a / b;
        public static Vector256<float> Apply(Vector256<float> a, Vector256<float> b) => a / b;
        public static Vector512<float> Apply(Vector512<float> a, Vector512<float> b) => a / b;
    }

    /// <summary>Copies float64 values into float32 (rounding to nearest).</summary>
    public static void Convert(ReadOnlySpan<double> source, Span<float> destination)
    {
        var i = 0;
        if (Use256 && source.Length >= Vector256<double>.Count * 2)
        {
            ref var s0 = ref MemoryMarshal.GetReference(source);
            ref var d0 = ref MemoryMarshal.GetReference(destination);
            for (; i <= source.Length - Vector256<double>.Count * 2; i += Vector256<double>.Count * 2)
            {
                var lo = Vector256.LoadUnsafe(ref Unsafe.Add(ref s0, i));
                var hi = Vector256.LoadUnsafe(ref Unsafe.Add(ref s0, i + Vector256<double>.Count));
                Vector256.StoreUnsafe(Vector256.Narrow(lo, hi), ref Unsafe.Add(ref d0, i));
            }
        }
        for (; i < source.Length; i++) destination[i] = (float)source[i];
    }

    /// <summary>Copies int32 values into float32.</summary>
    public static void Convert(ReadOnlySpan<int> source, Span<float> destination)
    {
        var i = 0;
        if (Use256 && source.Length >= Vector256<int>.Count)
        {
            ref var s0 = ref MemoryMarshal.GetReference(source);
            ref var d0 = ref MemoryMarshal.GetReference(destination);
            for (; i <= source.Length - Vector256<int>.Count; i += Vector256<int>.Count)
                Vector256.StoreUnsafe(Vector256.ConvertToSingle(Vector256.LoadUnsafe(ref Unsafe.Add(ref s0, i))), ref Unsafe.Add(ref d0, i));
        }
        for (; i < source.Length; i++) destination[i] = source[i];
    }

    /// <summary>Copies int64 values into float32.</summary>
    public static void Convert(ReadOnlySpan<long> source, Span<float> destination)
    {
        for (var i = 0; i < source.Length; i++) destination[i] = source[i];
    }

    /// <summary>Copies bool bytes (0/1) into float32.</summary>
    public static void Convert(ReadOnlySpan<byte> source, Span<float> destination)
    {
        for (var i = 0; i < source.Length; i++) destination[i] = source[i] != 0 ? 1f : 0f;
    }

    /// <summary>Sets rows whose validity bit is clear to NaN.</summary>
    public static void ApplyNulls(ReadOnlySpan<byte> validity, Span<float> destination)
    {
        // Nulls are rare: skip 64 rows per all-valid bitmap word and only walk the bits of words that have a null.
        // (A per-row bit test cost ~8x a memcpy of the column in FeatureBenchmarks.PipelineStandardScale.)
        var n = destination.Length;
        var words = MemoryMarshal.Cast<byte, ulong>(validity[..((n >> 6) << 3)]);
        for (var w = 0; w < words.Length; w++)
        {
            var word = words[w];
            if (word == ulong.MaxValue) continue;
            var invalid = ~word;
            while (invalid != 0)
            {
                destination[(w << 6) + System.Numerics.BitOperations.TrailingZeroCount(invalid)] = float.NaN;
                invalid &= invalid - 1;
            }
        }
        for (var i = words.Length << 6; i < n; i++)
            if ((validity[i >> 3] & (1 << (i & 7))) == 0) destination[i] = float.NaN;
    }

    /// <summary>Writes columns into a row-major matrix: matrix[r * columns.Length + c] = columns[c][r].</summary>
    public static unsafe void Interleave(ReadOnlySpan<IntPtr> columns, int rows, Span<float> matrix)
    {
        var width = columns.Length;
        if (matrix.Length < rows * width)
            throw new ArgumentException($"the matrix holds {matrix.Length} values; {rows} rows x {width} features need {rows * width}", nameof(matrix));
        fixed (float* m = matrix)
        {
            var c0 = 0;
            var simdRows = 0;
            if (!ForceScalar && Avx.IsSupported && rows >= 8)
            {
                // 8 x 8 register transposes: a scalar strided gather cost ~3x ONNX Runtime's own run of a 4096 x 32
                // logistic regression (ScoringBenchmarks.EngineScore, lr); this moves 8 values per store.
                simdRows = rows & ~7;
                for (; c0 + 8 <= width; c0 += 8)
                {
                    float* s0 = (float*)columns[c0], s1 = (float*)columns[c0 + 1], s2 = (float*)columns[c0 + 2], s3 = (float*)columns[c0 + 3];
                    float* s4 = (float*)columns[c0 + 4], s5 = (float*)columns[c0 + 5], s6 = (float*)columns[c0 + 6], s7 = (float*)columns[c0 + 7];
                    for (var r = 0; r < simdRows; r += 8)
                    {
                        var t0 = Avx.UnpackLow(Avx.LoadVector256(s0 + r), Avx.LoadVector256(s1 + r));
                        var t1 = Avx.UnpackHigh(Avx.LoadVector256(s0 + r), Avx.LoadVector256(s1 + r));
                        var t2 = Avx.UnpackLow(Avx.LoadVector256(s2 + r), Avx.LoadVector256(s3 + r));
                        var t3 = Avx.UnpackHigh(Avx.LoadVector256(s2 + r), Avx.LoadVector256(s3 + r));
                        var t4 = Avx.UnpackLow(Avx.LoadVector256(s4 + r), Avx.LoadVector256(s5 + r));
                        var t5 = Avx.UnpackHigh(Avx.LoadVector256(s4 + r), Avx.LoadVector256(s5 + r));
                        var t6 = Avx.UnpackLow(Avx.LoadVector256(s6 + r), Avx.LoadVector256(s7 + r));
                        var t7 = Avx.UnpackHigh(Avx.LoadVector256(s6 + r), Avx.LoadVector256(s7 + r));
                        var u0 = Avx.Shuffle(t0, t2, 0x44);
                        var u1 = Avx.Shuffle(t0, t2, 0xEE);
                        var u2 = Avx.Shuffle(t1, t3, 0x44);
                        var u3 = Avx.Shuffle(t1, t3, 0xEE);
                        var u4 = Avx.Shuffle(t4, t6, 0x44);
                        var u5 = Avx.Shuffle(t4, t6, 0xEE);
                        var u6 = Avx.Shuffle(t5, t7, 0x44);
                        var u7 = Avx.Shuffle(t5, t7, 0xEE);
                        var d = m + (long)r * width + c0;
                        Avx.Store(d, Avx.Permute2x128(u0, u4, 0x20));
                        Avx.Store(d + width, Avx.Permute2x128(u1, u5, 0x20));
                        Avx.Store(d + 2 * width, Avx.Permute2x128(u2, u6, 0x20));
                        Avx.Store(d + 3 * width, Avx.Permute2x128(u3, u7, 0x20));
                        Avx.Store(d + 4 * width, Avx.Permute2x128(u0, u4, 0x31));
                        Avx.Store(d + 5 * width, Avx.Permute2x128(u1, u5, 0x31));
                        Avx.Store(d + 6 * width, Avx.Permute2x128(u2, u6, 0x31));
                        Avx.Store(d + 7 * width, Avx.Permute2x128(u3, u7, 0x31));
                    }
                }
            }
            // Rows past the last multiple of 8 for the transposed columns, and every row of the remaining columns.
            for (var c = 0; c < width; c++)
            {
                var src = (float*)columns[c];
                var dst = m + c;
                for (var r = c < c0 ? simdRows : 0; r < rows; r++) dst[(long)r * width] = src[r];
            }
        }
    }
}

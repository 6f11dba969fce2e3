using System.Runtime.Intrinsics.X86;

namespace StreamMl.Operators.Scoring.Trees;

/// <summary>ONNX Runtime's Sigmoid as it computes it (MLAS <c>MlasComputeLogistic</c>): not 1/(1+e^-x) but a rational
/// approximation, odd degree-9 over even degree-10 polynomial on x clamped to [-18, 18], plus 1/2, clamped to [0, 1].
/// It differs from the exact logistic by up to ~2e-5 relative at small probabilities (measured on the credit LightGBM
/// model), so parity to 1e-6 needs the same formula; x64 builds with FMA3 evaluate it with fused multiply-adds
/// (MlasLogisticKernelFma3), others with separate multiply and add.</summary>
internal static class Logistic
{
    private const float Alpha9 = 4.37031012579801e-11f;
    private const float Alpha7 = 1.15627324459942e-07f;
    private const float Alpha5 = 6.08574864600143e-05f;
    private const float Alpha3 = 8.51377133304701e-03f;
    private const float Alpha1 = 2.48287947061529e-01f;
    private const float Beta10 = 6.10247389755681e-13f;
    private const float Beta8 = 5.76102136993427e-09f;
    private const float Beta6 = 6.29106785017040e-06f;
    private const float Beta4 = 1.70198817374094e-03f;
    private const float Beta2 = 1.16817656904453e-01f;
    private const float Beta0 = 9.93151921023180e-01f;

    public static void Compute(ReadOnlySpan<float> x, Span<float> y)
    {
        if (Fma.IsSupported)
        {
            for (var i = 0; i < x.Length; i++)
            {
                var v = Math.Clamp(x[i], -18f, 18f);
                var s = v * v;
                var p = MathF.FusedMultiplyAdd(s, Alpha9, Alpha7);
                p = MathF.FusedMultiplyAdd(p, s, Alpha5);
                p = MathF.FusedMultiplyAdd(p, s, Alpha3);
                p = MathF.FusedMultiplyAdd(p, s, Alpha1);
                p *= v;
                var q = MathF.FusedMultiplyAdd(s, Beta10, Beta8);
                q = MathF.FusedMultiplyAdd(q, s, Beta6);
                q = MathF.FusedMultiplyAdd(q, s, Beta4);
                q = MathF.FusedMultiplyAdd(q, s, Beta2);
                q = MathF.FusedMultiplyAdd(q, s, Beta0);
                y[i] = Math.Clamp(p / q + 0.5f, 0f, 1f);
            }
        }
        else
        {
            for (var i = 0; i < x.Length; i++)
            {
                var v = Math.Clamp(x[i], -18f, 18f);
                var s = v * v;
                var p = s * Alpha9 + Alpha7;
                p = p * s + Alpha5;
                p = p * s + Alpha3;
                p = p * s + Alpha1;
                p *= v;
                var q = s * Beta10 + Beta8;
                q = q * s + Beta6;
                q = q * s + Beta4;
                q = q * s + Beta2;
                q = q * s + Beta0;
                y[i] = Math.Clamp(p / q + 0.5f, 0f, 1f);
            }
        }
    }
}

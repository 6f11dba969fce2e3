using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using StreamMl.Engine;

namespace StreamMl.Operators.Learners;

/// <summary>The few functions of LightGBM's C API (lib_lightgbm, the library ML.NET's LightGBM trainer ships and calls)
/// that fitting straight from a float matrix needs.</summary>
internal static partial class LightGbmNative
{
    private const string Library = "lib_lightgbm";
    public const int Float32 = 0;
    public const int PredictNormal = 0;

    [LibraryImport(Library)]
    private static partial IntPtr LGBM_GetLastError();

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int LGBM_DatasetCreateFromMat(float* data, int dataType, int rows, int columns, int rowMajor,
        string parameters, IntPtr reference, out DatasetHandle handle);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int LGBM_DatasetSetField(DatasetHandle handle, string field, float* data, int count, int type);

    [LibraryImport(Library)]
    internal static partial int LGBM_DatasetFree(IntPtr handle);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LGBM_BoosterCreate(DatasetHandle train, string parameters, out BoosterHandle handle);

    [LibraryImport(Library)]
    private static partial int LGBM_BoosterAddValidData(BoosterHandle handle, DatasetHandle validation);

    [LibraryImport(Library)]
    private static partial int LGBM_BoosterUpdateOneIter(BoosterHandle handle, out int finished);

    [LibraryImport(Library)]
    private static unsafe partial int LGBM_BoosterGetEval(BoosterHandle handle, int dataIndex, out int count, double* results);

    [LibraryImport(Library)]
    private static partial int LGBM_BoosterGetCurrentIteration(BoosterHandle handle, out int iteration);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int LGBM_BoosterPredictForMat(BoosterHandle handle, float* data, int dataType, int rows, int columns,
        int rowMajor, int predictType, int startIteration, int iterations, string parameters, out long length, double* results);

    [LibraryImport(Library)]
    private static unsafe partial int LGBM_BoosterSaveModelToString(BoosterHandle handle, int startIteration, int iterations,
        int importanceType, long bufferLength, out long length, byte* text);

    [LibraryImport(Library)]
    internal static partial int LGBM_BoosterFree(IntPtr handle);

    /// <summary>A LightGBM dataset (binned rows, labels, weights) built from a row-major float matrix.</summary>
    public static unsafe DatasetHandle Dataset(ReadOnlySpan<float> matrix, int rows, int columns, ReadOnlySpan<float> labels,
        ReadOnlySpan<float> weights, string parameters, DatasetHandle? reference)
    {
        DatasetHandle handle;
        fixed (float* data = matrix)
            Check(LGBM_DatasetCreateFromMat(data, Float32, rows, columns, 1, parameters, reference?.DangerousGetHandle() ?? IntPtr.Zero, out handle));
        GC.KeepAlive(reference);
        fixed (float* label = labels)
            Check(LGBM_DatasetSetField(handle, "label", label, rows, Float32));
        if (!weights.IsEmpty)
        {
            fixed (float* weight = weights)
                Check(LGBM_DatasetSetField(handle, "weight", weight, rows, Float32));
        }
        return handle;
    }

    public static BoosterHandle Booster(DatasetHandle train, DatasetHandle? validation, string parameters)
    {
        Check(LGBM_BoosterCreate(train, parameters, out var booster));
        if (validation is not null) Check(LGBM_BoosterAddValidData(booster, validation));
        return booster;
    }

    /// <summary>Grows one more tree; true when no split improves the loss any more (no tree was added).</summary>
    public static bool Update(BoosterHandle booster)
    {
        Check(LGBM_BoosterUpdateOneIter(booster, out var finished));
        return finished != 0;
    }

    /// <summary>The first metric on data set <paramref name="dataIndex"/> (0 = training, 1 = the first validation set).</summary>
    public static unsafe double Eval(BoosterHandle booster, int dataIndex)
    {
        Span<double> results = stackalloc double[8];
        fixed (double* result = results)
            Check(LGBM_BoosterGetEval(booster, dataIndex, out _, result));
        return results[0];
    }

    public static int Iterations(BoosterHandle booster)
    {
        Check(LGBM_BoosterGetCurrentIteration(booster, out var iterations));
        return iterations;
    }

    /// <summary>Predictions (probability for binary, value for regression) of the first <paramref name="iterations"/>
    /// trees for each row of a row-major matrix.</summary>
    public static unsafe void Predict(BoosterHandle booster, ReadOnlySpan<float> matrix, int rows, int columns, int iterations,
        string parameters, Span<double> output)
    {
        fixed (float* data = matrix)
        fixed (double* result = output)
            Check(LGBM_BoosterPredictForMat(booster, data, Float32, rows, columns, 1, PredictNormal, 0, iterations, parameters, out _, result));
    }

    /// <summary>The first <paramref name="iterations"/> trees in LightGBM's text format.</summary>
    public static unsafe string ModelText(BoosterHandle booster, int iterations)
    {
        Check(LGBM_BoosterSaveModelToString(booster, 0, iterations, 0, 0, out var length, null));
        var buffer = new byte[length];
        fixed (byte* text = buffer)
            Check(LGBM_BoosterSaveModelToString(booster, 0, iterations, 0, length, out length, text));
        return System.Text.Encoding.UTF8.GetString(buffer, 0, (int)Math.Max(0, length - 1));
    }

    private static void Check(int status)
    {
        if (status != 0)
            throw new StreamMlException($"LightGBM failed: {Marshal.PtrToStringUTF8(LGBM_GetLastError()) ?? "no message"}");
    }
}

/// <summary>Frees a LightGBM dataset exactly once.</summary>
internal sealed class DatasetHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public DatasetHandle() : base(ownsHandle: true) { }

    protected override bool ReleaseHandle() => LightGbmNative.LGBM_DatasetFree(handle) == 0;
}

/// <summary>Frees a LightGBM booster exactly once.</summary>
internal sealed class BoosterHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public BoosterHandle() : base(ownsHandle: true) { }

    protected override bool ReleaseHandle() => LightGbmNative.LGBM_BoosterFree(handle) == 0;
}

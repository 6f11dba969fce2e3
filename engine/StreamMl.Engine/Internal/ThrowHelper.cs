using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace StreamMl.Engine.Internal;

/// <summary>Keeps throw sites out of hot methods so they stay small enough to inline.</summary>
internal static class ThrowHelper
{
    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void ArgumentOutOfRange(string name, string message) =>
        throw new ArgumentOutOfRangeException(name, message);

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void SchemaMismatch(string message) => throw new SchemaMismatchException(message);

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void BatchLeak(string message) => throw new BatchLeakException(message);

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void Pipeline(string message) => throw new PipelineException(message);

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void InvalidOperation(string message) => throw new InvalidOperationException(message);
}

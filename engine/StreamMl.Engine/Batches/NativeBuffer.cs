using System.Buffers;
using System.Runtime.InteropServices;

namespace StreamMl.Engine;

/// <summary>A 64-byte aligned block of native memory, zeroed on allocation, freed on <see cref="Dispose()"/>.
/// It is a <see cref="MemoryManager{T}"/> so Arrow buffers can point at it without copying.</summary>
public sealed unsafe class NativeBuffer : MemoryManager<byte>
{
    /// <summary>Alignment of every buffer: a cache line, and the width of an AVX-512 register.</summary>
    public const int Alignment = 64;

    private static long s_liveBytes;
    private byte* _pointer;

    /// <summary>Allocates <paramref name="length"/> zeroed bytes aligned to <see cref="Alignment"/>.</summary>
    public NativeBuffer(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Length = length;
        _pointer = (byte*)NativeMemory.AlignedAlloc((nuint)Math.Max(length, 1), Alignment);
        NativeMemory.Clear(_pointer, (nuint)length);
        Interlocked.Add(ref s_liveBytes, length);
    }

    /// <summary>Bytes of native memory held by undisposed buffers in this process (tests use it to find leaks).</summary>
    public static long LiveBytes => Interlocked.Read(ref s_liveBytes);

    /// <summary>Size in bytes.</summary>
    public int Length { get; }

    /// <summary>Address of the first byte.</summary>
    public byte* Pointer => _pointer;

    /// <inheritdoc/>
    public override Span<byte> GetSpan()
    {
        ObjectDisposedException.ThrowIf(_pointer == null, this);
        return new Span<byte>(_pointer, Length);
    }

    /// <summary>The buffer as a span of <typeparamref name="T"/> values.</summary>
    public Span<T> AsSpan<T>() where T : unmanaged => new(_pointer, Length / sizeof(T));

    /// <inheritdoc/>
    public override MemoryHandle Pin(int elementIndex = 0) => new(_pointer + elementIndex, default, this);

    /// <inheritdoc/>
    public override void Unpin() { }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (_pointer == null) return;
        NativeMemory.AlignedFree(_pointer);
        _pointer = null;
        Interlocked.Add(ref s_liveBytes, -Length);
    }

    /// <summary>Frees the memory.</summary>
    public void Dispose() => ((IDisposable)this).Dispose();
}

namespace StreamMl.Engine;

/// <summary>The bytes of a binary column (encoded images, raw payloads): one growing arena per column, reused batch
/// after batch, so a steady stream of values of similar size allocates nothing. Each row's value buffer holds its
/// offset and length into the arena (<see cref="Column.GetBytes"/>, <see cref="Column.SetBytes"/>).</summary>
public sealed class BinaryValues
{
    private byte[] _arena = new byte[4096];

    /// <summary>Bytes in use.</summary>
    public int Length { get; private set; }

    /// <summary>Appends <paramref name="value"/> and returns its offset.</summary>
    public int Append(ReadOnlySpan<byte> value)
    {
        var offset = Length;
        var end = checked(offset + value.Length);
        if (end > _arena.Length) Array.Resize(ref _arena, (int)Math.Min(Array.MaxLength, Math.Max(end, _arena.Length * 2L)));
        value.CopyTo(_arena.AsSpan(offset));
        Length = end;
        return offset;
    }

    /// <summary>The bytes at [<paramref name="offset"/>, offset + <paramref name="length"/>).</summary>
    public ReadOnlySpan<byte> Slice(int offset, int length) => _arena.AsSpan(offset, length);

    /// <summary>Forgets every value; the arena is kept for the next batch.</summary>
    public void Clear() => Length = 0;
}

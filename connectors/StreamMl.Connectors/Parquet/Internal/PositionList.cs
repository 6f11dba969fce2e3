namespace StreamMl.Connectors.Parquet.Internal;

/// <summary>The positions of one source partition held by an open file, in arrival order, as zigzag varint deltas:
/// about one byte per row for the dense positions of files and Kafka, and still bounded by ten bytes per row for sparse
/// ones (database ids, timestamps), where a bitmap over the span would not be. The buffer is kept across files.</summary>
internal sealed class PositionList
{
    private byte[] _bytes = new byte[256];
    private int _length;
    private long _previous;

    public void Clear()
    {
        _length = 0;
        _previous = 0;
    }

    public void Add(long offset)
    {
        var delta = offset - _previous;
        _previous = offset;
        var zigzag = (ulong)((delta << 1) ^ (delta >> 63));
        if (_length + 10 > _bytes.Length) Array.Resize(ref _bytes, _bytes.Length * 2);
        while (zigzag >= 0x80)
        {
            _bytes[_length++] = (byte)(zigzag | 0x80);
            zigzag >>= 7;
        }
        _bytes[_length++] = (byte)zigzag;
    }

    /// <summary>The encoded positions, as written to a footer.</summary>
    public string ToBase64() => Convert.ToBase64String(_bytes, 0, _length);

    /// <summary>Decodes <see cref="ToBase64"/>'s text into positions.</summary>
    public static List<long> Decode(string base64)
    {
        var bytes = Convert.FromBase64String(base64);
        var result = new List<long>();
        long previous = 0;
        var i = 0;
        while (i < bytes.Length)
        {
            ulong zigzag = 0;
            var shift = 0;
            byte b;
            do
            {
                if (i >= bytes.Length || shift > 63) throw new FormatException("truncated position list");
                b = bytes[i++];
                zigzag |= (ulong)(b & 0x7F) << shift;
                shift += 7;
            }
            while ((b & 0x80) != 0);
            previous += (long)(zigzag >> 1) ^ -(long)(zigzag & 1);
            result.Add(previous);
        }
        return result;
    }
}

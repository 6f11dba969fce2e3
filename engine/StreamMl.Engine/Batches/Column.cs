using System.Numerics;
using System.Runtime.CompilerServices;
using StreamMl.Engine.Internal;

namespace StreamMl.Engine;

/// <summary>One column of a <see cref="ColumnBatch"/>: a fixed-capacity, 64-byte aligned value buffer and an
/// Arrow-layout validity bitmap (bit set = valid, least significant bit first). String columns hold int32 codes
/// into <see cref="Dictionary"/>.</summary>
public sealed class Column : IDisposable
{
    private readonly NativeBuffer _values;
    private readonly NativeBuffer _validity;
    private bool _mayHaveNulls;

    internal Column(Field field, int capacity)
    {
        Field = field;
        Capacity = capacity;
        _values = new NativeBuffer(checked(capacity * ColumnTypes.SizeOf(field.Type)));
        _validity = new NativeBuffer(BitmapBytes(capacity));
        _validity.GetSpan().Fill(0xFF);
        if (field.Type == ColumnType.String) Dictionary = new StringDictionary();
        if (field.Type == ColumnType.Binary) Bytes = new BinaryValues();
    }

    /// <summary>Name, type and nullability.</summary>
    public Field Field { get; }

    /// <summary>Physical type.</summary>
    public ColumnType Type => Field.Type;

    /// <summary>Rows the column can hold.</summary>
    public int Capacity { get; }

    /// <summary>The distinct strings of a string column; null for other types.</summary>
    public StringDictionary? Dictionary { get; }

    /// <summary>The bytes of a binary column; null for other types.</summary>
    public BinaryValues? Bytes { get; }

    /// <summary>Row <paramref name="row"/>'s bytes in a binary column (empty for a null row).</summary>
    public ReadOnlySpan<byte> GetBytes(int row)
    {
        if (Bytes is null) ThrowWrongType(typeof(byte[]));
        var slot = _values.AsSpan<int>().Slice(row * 2, 2);
        return Bytes!.Slice(slot[0], slot[1]);
    }

    /// <summary>Sets row <paramref name="row"/> of a binary column to a copy of <paramref name="value"/> (and valid).</summary>
    public void SetBytes(int row, ReadOnlySpan<byte> value)
    {
        if (Bytes is null) ThrowWrongType(typeof(byte[]));
        var slot = _values.AsSpan<int>().Slice(row * 2, 2);
        slot[0] = Bytes!.Append(value);
        slot[1] = value.Length;
        SetValid(row);
    }

    /// <summary>True once any row has been set to null since the last reset. A false value lets kernels skip the bitmap.</summary>
    public bool MayHaveNulls => _mayHaveNulls;

    /// <summary>The whole value buffer (capacity rows) as <typeparamref name="T"/>; the caller slices it to the batch length.
    /// <typeparamref name="T"/> must be the column's element type: <c>float</c> for float32, <c>double</c> for float64,
    /// <c>int</c> for int32 and for the codes of a string column, <c>long</c> for int64 and timestamp, <c>byte</c> for
    /// bool. Any other type throws a <see cref="SchemaMismatchException"/> naming the column (an int32 column read as
    /// float would give garbage, not an error). To copy bytes regardless of type use <see cref="RawValues"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<T> Values<T>() where T : unmanaged
    {
        // Every typeof comparison is a JIT-time constant per instantiation, so this is one compare of Type per call
        // (the same cost as the element-size check it replaces).
        if (!Holds<T>(Type)) ThrowWrongType(typeof(T));
        return _values.AsSpan<T>();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Holds<T>(ColumnType type) =>
        typeof(T) == typeof(float) ? type == ColumnType.Float32
        : typeof(T) == typeof(double) ? type == ColumnType.Float64
        : typeof(T) == typeof(int) ? type is ColumnType.Int32 or ColumnType.String
        : typeof(T) == typeof(long) ? type is ColumnType.Int64 or ColumnType.Timestamp
        : typeof(T) == typeof(byte) && type == ColumnType.Bool;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowWrongType(Type requested) =>
        ThrowHelper.SchemaMismatch($"column '{Field.Name}' is {ColumnTypes.Name(Type)}; it cannot be read as {ElementName(requested)} " +
            $"(read {ColumnTypes.Name(Type)} values as {ElementName(Type)})");

    private static string ElementName(Type type) =>
        type == typeof(float) ? "float" : type == typeof(double) ? "double" : type == typeof(int) ? "int"
        : type == typeof(long) ? "long" : type == typeof(byte) ? "byte" : type == typeof(byte[]) ? "bytes" : type.Name;

    private static string ElementName(ColumnType type) => type switch
    {
        ColumnType.Float32 => "float",
        ColumnType.Float64 => "double",
        ColumnType.Int32 or ColumnType.String => "int",
        ColumnType.Int64 or ColumnType.Timestamp => "long",
        ColumnType.Binary => "bytes (GetBytes)",
        _ => "byte",
    };

    /// <summary>The whole value buffer as bytes, whatever the type: for copying slices between columns of one type.</summary>
    public Span<byte> RawValues => _values.GetSpan();

    /// <summary>The validity bitmap in Arrow layout.</summary>
    public Span<byte> ValidityBitmap => _validity.GetSpan();

    internal NativeBuffer ValueBuffer => _values;

    internal NativeBuffer ValidityBuffer => _validity;

    /// <summary>True when row <paramref name="row"/> holds a value.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public unsafe bool IsValid(int row) => !_mayHaveNulls || (_validity.Pointer[row >> 3] & (1 << (row & 7))) != 0;

    /// <summary>Marks row <paramref name="row"/> null.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public unsafe void SetNull(int row)
    {
        _validity.Pointer[row >> 3] &= (byte)~(1 << (row & 7));
        _mayHaveNulls = true;
    }

    /// <summary>Marks row <paramref name="row"/> valid.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public unsafe void SetValid(int row) => _validity.Pointer[row >> 3] |= (byte)(1 << (row & 7));

    /// <summary>Marks rows [<paramref name="row"/>, row + <paramref name="count"/>) valid; free while no row of the
    /// column was ever marked null.</summary>
    public void SetValid(int row, int count)
    {
        if (!_mayHaveNulls) return;
        var end = row + count;
        for (; row < end && (row & 7) != 0; row++) SetValid(row);
        var wholeBytes = (end - row) >> 3;
        _validity.GetSpan().Slice(row >> 3, wholeBytes).Fill(0xFF);
        for (row += wholeBytes << 3; row < end; row++) SetValid(row);
    }

    /// <summary>Number of null rows among the first <paramref name="length"/>.</summary>
    public int NullCount(int length)
    {
        if (!_mayHaveNulls) return 0;
        var bitmap = _validity.GetSpan();
        var valid = 0;
        var fullBytes = length >> 3;
        for (var i = 0; i < fullBytes; i++) valid += BitOperations.PopCount(bitmap[i]);
        for (var row = fullBytes << 3; row < length; row++)
            if ((bitmap[row >> 3] & (1 << (row & 7))) != 0) valid++;
        return length - valid;
    }

    /// <summary>Makes every row valid again and, for strings and binary, empties the dictionary or the bytes. Values are not cleared.</summary>
    public void Reset()
    {
        if (_mayHaveNulls) _validity.GetSpan().Fill(0xFF);
        _mayHaveNulls = false;
        Dictionary?.Clear();
        if (Bytes is { } bytes)
        {
            bytes.Clear();
            _values.GetSpan().Clear(); // rows never set read as empty, not as another batch's offsets
        }
    }

    /// <summary>Copies row <paramref name="from"/> of <paramref name="source"/> (same type) into row <paramref name="to"/>.</summary>
    public void CopyRow(Column source, int from, int to)
    {
        var size = ColumnTypes.SizeOf(Type);
        var src = source._values.GetSpan().Slice(from * size, size);
        if (Type == ColumnType.Binary && !ReferenceEquals(source, this))
        {
            if (source.IsValid(from)) SetBytes(to, source.GetBytes(from));
            else SetNull(to);
            return;
        }
        if (Type == ColumnType.String && !ReferenceEquals(source, this))
        {
            var code = MemoryMarshalInt(src);
            var value = source.IsValid(from) ? Dictionary!.GetOrAdd(source.Dictionary![code]) : 0;
            Values<int>()[to] = value;
        }
        else
        {
            src.CopyTo(_values.GetSpan().Slice(to * size, size));
        }
        if (source.IsValid(from)) SetValid(to); else SetNull(to);
    }

    /// <summary>Copies <paramref name="count"/> rows of an Arrow array, starting at <paramref name="sourceRow"/>, into
    /// this column from <paramref name="targetRow"/>: nulls, float32↔float64, int32→int64, any timestamp unit to
    /// microseconds, and string or dictionary-of-string arrays. Throws a <see cref="SchemaMismatchException"/> naming the
    /// column for any other pairing.</summary>
    public void CopyFrom(Apache.Arrow.IArrowArray array, int sourceRow, int targetRow, int count)
    {
        if (targetRow < 0 || targetRow + count > Capacity)
            ThrowHelper.ArgumentOutOfRange(nameof(count), $"rows {targetRow}..{targetRow + count} do not fit column '{Field.Name}' of capacity {Capacity}");
        ArrowInterop.CopyRows(array, sourceRow, this, targetRow, count);
    }

    private static int MemoryMarshalInt(ReadOnlySpan<byte> bytes) => System.Runtime.InteropServices.MemoryMarshal.Read<int>(bytes);

    internal void MarkMayHaveNulls() => _mayHaveNulls = true;

    /// <summary>Frees the column's native memory.</summary>
    public void Dispose()
    {
        _values.Dispose();
        _validity.Dispose();
    }

    internal static int BitmapBytes(int rows) => (rows + 7) >> 3;
}

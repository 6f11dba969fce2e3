using Parquet;
using Parquet.Schema;
using StreamMl.Engine;
using Field = StreamMl.Engine.Field;

namespace StreamMl.Connectors.Files.Internal;

/// <summary>Reads a Parquet file with Parquet.Net one row group at a time; offsets are row numbers in the file.</summary>
internal sealed class ParquetFileReader : FileReader
{
    private readonly FileStream _stream;
    private readonly ParquetReader _reader;
    private readonly DataField?[] _fields;
    private readonly Array?[] _groupColumns;
    private int _group = -1;
    private int _groupRows;
    private int _groupPosition;
    private long _rowBase;

    public ParquetFileReader(string path, int partition, ReaderContext context) : base(path, partition, context)
    {
        _stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        try
        {
            _reader = ParquetReader.CreateAsync(_stream, leaveStreamOpen: true).GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            _stream.Dispose();
            throw new BadInputException($"not a readable Parquet file (corrupt or missing footer: {ex.Message})", $"{path} byte {Math.Max(0, new FileInfo(path).Length - 8)}");
        }
        var dataFields = _reader.Schema.GetDataFields();
        _fields = [.. context.Schema.Select(f => dataFields.FirstOrDefault(d => d.Name == f.Name && !d.IsArray))];
        _groupColumns = new Array?[_fields.Length];
        var columns = SchemaOf(_reader.Schema).Select(f => f.Name).ToList();
        context.SchemaChanges.Compare(path, columns, context.Schema, columns.IndexOf);
    }

    /// <summary>The engine schema a Parquet file's flat columns map to.</summary>
    public static Schema SchemaOf(ParquetSchema schema)
    {
        var fields = new List<Field>();
        foreach (var field in schema.GetDataFields())
        {
            if (field.IsArray) continue;
            if (MapType(field.ClrType) is { } type) fields.Add(new Field(field.Name, type, true));
        }
        return new Schema(fields);
    }

    private static ColumnType? MapType(Type clr) => clr switch
    {
        _ when clr == typeof(float) => ColumnType.Float32,
        _ when clr == typeof(double) || clr == typeof(decimal) => ColumnType.Float64,
        _ when clr == typeof(int) || clr == typeof(short) || clr == typeof(byte) || clr == typeof(sbyte) || clr == typeof(ushort) => ColumnType.Int32,
        _ when clr == typeof(long) || clr == typeof(uint) => ColumnType.Int64,
        _ when clr == typeof(bool) => ColumnType.Bool,
        _ when clr == typeof(DateTime) || clr == typeof(DateTimeOffset) => ColumnType.Timestamp,
        _ when clr == typeof(string) || clr == typeof(ReadOnlyMemory<char>) => ColumnType.String,
        _ when clr == typeof(byte[]) || clr == typeof(ReadOnlyMemory<byte>) => ColumnType.Binary, // BYTE_ARRAY without a UTF-8 annotation: encoded images, blobs
        _ => null,
    };

    public override string OffsetUnit => "row";

    public override long CurrentOffset => _rowBase + _groupPosition;

    public override int Fill(ColumnBatch batch, int row, long ingestMicros)
    {
        var context = Context;
        var targets = context.Targets(batch);
        Filled = row;
        while (row < batch.Capacity)
        {
            if (_groupPosition >= _groupRows && !NextGroup())
            {
                Exhausted = true;
                break;
            }
            if (_rowBase + _groupPosition < SkipBefore)
            {
                _groupPosition = (int)Math.Min(_groupRows, SkipBefore - _rowBase);
                continue;
            }
            var take = Math.Min(batch.Capacity - row, _groupRows - _groupPosition);
            for (var f = 0; f < _fields.Length; f++)
            {
                var column = batch[targets[f]];
                var values = _groupColumns[f];
                for (var i = 0; i < take; i++)
                    if (!WriteCell(values, _groupPosition + i, column, row + i))
                        column.SetNull(row + i);
            }
            for (var i = 0; i < take; i++)
            {
                var offset = _rowBase + _groupPosition + i;
                context.Accept(batch, row + i, Partition, offset, offset + 1, ingestMicros);
            }
            _groupPosition += take;
            row += take;
            Filled = row;
        }
        return row;
    }

    private static bool WriteCell(Array? values, int index, Column column, int row)
    {
        switch (values)
        {
            case null: return false;
            case float?[] a when a[index] is { } v: column.Values<float>()[row] = v; break;
            case double?[] a when a[index] is { } v: Store(column, row, v); break;
            case decimal?[] a when a[index] is { } v: Store(column, row, (double)v); break;
            case int?[] a when a[index] is { } v: StoreInteger(column, row, v); break;
            case short?[] a when a[index] is { } v: StoreInteger(column, row, v); break;
            case byte?[] a when a[index] is { } v: StoreInteger(column, row, v); break;
            case sbyte?[] a when a[index] is { } v: StoreInteger(column, row, v); break;
            case ushort?[] a when a[index] is { } v: StoreInteger(column, row, v); break;
            case uint?[] a when a[index] is { } v: StoreInteger(column, row, v); break;
            case long?[] a when a[index] is { } v: StoreInteger(column, row, v); break;
            case bool?[] a when a[index] is { } v:
                if (column.Type == ColumnType.Bool) column.Values<byte>()[row] = v ? (byte)1 : (byte)0; else StoreInteger(column, row, v ? 1 : 0);
                break;
            case DateTime?[] a when a[index] is { } v: column.Values<long>()[row] = FieldParser.ToMicros(v); break;
            case DateTimeOffset?[] a when a[index] is { } v: column.Values<long>()[row] = FieldParser.ToMicros(v); break;
            case byte[]?[] a when a[index] is { } v:
                if (column.Type != ColumnType.Binary) return false;
                column.SetBytes(row, v);
                break;
            case string?[] a when a[index] is { } v:
                if (column.Type == ColumnType.String) column.Values<int>()[row] = column.Dictionary!.GetOrAdd(v);
                else if (!FieldParser.TryWriteValue(v, column, row)) return false;
                break;
            default: return false;
        }
        if (column.MayHaveNulls) column.SetValid(row);
        return true;
    }

    private static void Store(Column column, int row, double value)
    {
        switch (column.Type)
        {
            case ColumnType.Float32: column.Values<float>()[row] = (float)value; break;
            case ColumnType.Float64: column.Values<double>()[row] = value; break;
            case ColumnType.Int32: column.Values<int>()[row] = (int)value; break;
            default: column.Values<long>()[row] = (long)value; break;
        }
    }

    private static void StoreInteger(Column column, int row, long value)
    {
        switch (column.Type)
        {
            case ColumnType.Float32: column.Values<float>()[row] = value; break;
            case ColumnType.Float64: column.Values<double>()[row] = value; break;
            case ColumnType.Int32: column.Values<int>()[row] = (int)value; break;
            case ColumnType.Bool: column.Values<byte>()[row] = value != 0 ? (byte)1 : (byte)0; break;
            default: column.Values<long>()[row] = value; break;
        }
    }

    private bool NextGroup()
    {
        _rowBase += _groupRows;
        if (++_group >= _reader.RowGroupCount) return false;
        try
        {
            using var group = _reader.OpenRowGroupReader(_group);
            _groupRows = checked((int)group.RowCount);
            _groupPosition = 0;
            for (var f = 0; f < _fields.Length; f++)
                _groupColumns[f] = _fields[f] is { } field ? ReadColumn(group, field, _groupRows) : null;
        }
        catch (Exception ex) when (ex is not BadInputException and not OutOfMemoryException)
        {
            throw new BadInputException($"row group {_group} cannot be read ({ex.Message}); the rest of the file is skipped", $"{Path} row {_rowBase}");
        }
        return true;
    }

    private static Array ReadColumn(ParquetRowGroupReader group, DataField field, int rows)
    {
        var clr = field.ClrType;
        if (clr == typeof(string) || clr == typeof(ReadOnlyMemory<char>))
        {
            var strings = new string?[rows];
            group.ReadAsync(field, strings.AsMemory()).GetAwaiter().GetResult();
            return strings;
        }
        if (clr == typeof(byte[]) || clr == typeof(ReadOnlyMemory<byte>))
        {
            var blobs = new byte[]?[rows];
            group.ReadAsync(field, blobs.AsMemory()!).GetAwaiter().GetResult();
            return blobs;
        }
        if (clr == typeof(float)) return Read<float>(group, field, rows);
        if (clr == typeof(double)) return Read<double>(group, field, rows);
        if (clr == typeof(decimal)) return Read<decimal>(group, field, rows);
        if (clr == typeof(int)) return Read<int>(group, field, rows);
        if (clr == typeof(long)) return Read<long>(group, field, rows);
        if (clr == typeof(short)) return Read<short>(group, field, rows);
        if (clr == typeof(byte)) return Read<byte>(group, field, rows);
        if (clr == typeof(sbyte)) return Read<sbyte>(group, field, rows);
        if (clr == typeof(ushort)) return Read<ushort>(group, field, rows);
        if (clr == typeof(uint)) return Read<uint>(group, field, rows);
        if (clr == typeof(bool)) return Read<bool>(group, field, rows);
        if (clr == typeof(DateTime)) return Read<DateTime>(group, field, rows);
        if (clr == typeof(DateTimeOffset)) return Read<DateTimeOffset>(group, field, rows);
        throw new BadInputException($"column '{field.Name}' has type {clr.Name}, which StreamMl cannot read", field.Path.ToString());
    }

    private static T?[] Read<T>(ParquetRowGroupReader group, DataField field, int rows) where T : struct
    {
        var values = new T?[rows];
        if (field.IsNullable)
        {
            group.ReadAsync(field, values.AsMemory()).GetAwaiter().GetResult();
            return values;
        }
        // A required column has no definition levels: reading it through the nullable overload returned stray nulls
        // when pooled buffers had been used before (seen in the full test run only), so it is read as plain values.
        var plain = new T[rows];
        group.ReadAsync(field, plain.AsMemory()).GetAwaiter().GetResult();
        for (var i = 0; i < rows; i++) values[i] = plain[i];
        return values;
    }

    public override void Dispose()
    {
        _reader.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _stream.Dispose();
    }
}

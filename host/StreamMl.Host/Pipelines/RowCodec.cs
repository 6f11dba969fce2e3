using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;
using StreamMl.Engine;
using Column = StreamMl.Engine.Column;
using Field = StreamMl.Engine.Field;
using Schema = StreamMl.Engine.Schema;
using StreamMl.Host.Protos;

namespace StreamMl.Host.Pipelines;

/// <summary>Turns request payloads (protobuf rows or Arrow IPC bytes) into column batches of a pipeline's input schema,
/// and batches back into protobuf rows. Every problem is a <see cref="BadInputException"/> naming the message, row and
/// column, which the gRPC layer answers with INVALID_ARGUMENT.</summary>
internal static class RowCodec
{
    /// <summary>Checks that <paramref name="rows"/> can fill <paramref name="schema"/>: every non-nullable column is
    /// present and no column is unknown. Returns the schema index of each RowSet column.</summary>
    public static int[] MapColumns(RowSet rows, Schema schema, string where)
    {
        var map = new int[rows.Columns.Count];
        for (var i = 0; i < map.Length; i++)
        {
            map[i] = schema.IndexOf(rows.Columns[i]);
            if (map[i] < 0)
                throw new BadInputException(
                    $"column '{rows.Columns[i]}' is not an input of this pipeline; inputs are: {string.Join(", ", schema.Select(f => f.ToString()))}", where)
                { Column = rows.Columns[i] };
            if (System.Array.IndexOf(map, map[i], 0, i) >= 0) throw new BadInputException($"column '{rows.Columns[i]}' appears twice", where) { Column = rows.Columns[i] };
        }
        foreach (var field in schema)
            if (!field.Nullable && !rows.Columns.Contains(field.Name))
                throw new BadInputException($"required column '{field.Name}' is missing; send columns {string.Join(", ", schema.Select(f => f.Name))}", where)
                { Column = field.Name };
        return map;
    }

    /// <summary>Writes rows [<paramref name="first"/>, first + count) of <paramref name="rows"/> into rows
    /// [<paramref name="at"/>, ...) of <paramref name="batch"/>; input columns (the first <paramref name="inputColumns"/>
    /// of the batch) that were not sent become null.</summary>
    public static void Write(RowSet rows, int[] map, int first, int count, ColumnBatch batch, int at, string where, int inputColumns)
    {
        Span<bool> sent = inputColumns <= 256 ? stackalloc bool[inputColumns] : new bool[inputColumns];
        foreach (var index in map) sent[index] = true;
        for (var r = 0; r < count; r++)
        {
            var row = rows.Rows[first + r];
            if (row.Values.Count != map.Length)
                throw new BadInputException($"row {first + r} has {row.Values.Count} values for {map.Length} columns", where) { Row = first + r };
            for (var c = 0; c < map.Length; c++)
                WriteValue(row.Values[c], batch[map[c]], at + r, new Cell(where, first + r, rows.Columns[c]));
            for (var c = 0; c < sent.Length; c++)
                if (!sent[c]) batch[c].SetNull(at + r);
        }
    }

    /// <summary>Where a value came from; formatted only for an error message, so a good value costs no string.</summary>
    private readonly record struct Cell(string Where, int Row, string Column)
    {
        public override string ToString() => $"{Where} row {Row} column '{Column}'";
    }

    private static void WriteValue(Value value, Column column, int row, Cell where)
    {
        var field = column.Field;
        if (value is null || value.KindCase == Value.KindOneofCase.None)
        {
            if (!field.Nullable) throw new BadInputException($"is null but column '{field.Name}' is required", where.ToString()) { Row = where.Row, Column = where.Column };
            column.SetNull(row);
            return;
        }
        switch (field.Type)
        {
            case ColumnType.Float32: column.Values<float>()[row] = (float)Number(value, field, where); break;
            case ColumnType.Float64: column.Values<double>()[row] = Number(value, field, where); break;
            case ColumnType.Int32: column.Values<int>()[row] = checked((int)Integer(value, field, where)); break;
            case ColumnType.Int64: column.Values<long>()[row] = Integer(value, field, where); break;
            case ColumnType.Timestamp:
                column.Values<long>()[row] = value.KindCase switch
                {
                    Value.KindOneofCase.TimestampMicros => value.TimestampMicros,
                    Value.KindOneofCase.Integer => value.Integer,
                    _ => throw Mismatch(value, field, where),
                };
                break;
            case ColumnType.Bool:
                column.Values<byte>()[row] = value.KindCase == Value.KindOneofCase.Flag ? (byte)(value.Flag ? 1 : 0) : throw Mismatch(value, field, where);
                break;
            case ColumnType.String:
                column.Values<int>()[row] = value.KindCase == Value.KindOneofCase.Text ? column.Dictionary!.GetOrAdd(value.Text) : throw Mismatch(value, field, where);
                break;
            case ColumnType.Binary:
                if (value.KindCase != Value.KindOneofCase.Data) throw Mismatch(value, field, where);
                column.SetBytes(row, value.Data.Span);
                break;
        }
    }

    private static double Number(Value value, Field field, Cell where) => value.KindCase switch
    {
        Value.KindOneofCase.Number => value.Number,
        Value.KindOneofCase.Integer => value.Integer,
        _ => throw Mismatch(value, field, where),
    };

    private static long Integer(Value value, Field field, Cell where) => value.KindCase switch
    {
        Value.KindOneofCase.Integer => value.Integer,
        Value.KindOneofCase.Number when value.Number == Math.Floor(value.Number) && Math.Abs(value.Number) < 9e15 => (long)value.Number,
        _ => throw Mismatch(value, field, where),
    };

    private static BadInputException Mismatch(Value value, Field field, Cell where) =>
        new($"is a {value.KindCase.ToString().ToLowerInvariant()} but column '{field.Name}' is {ColumnTypes.Name(field.Type)}", where.ToString())
        {
            Row = where.Row,
            Column = where.Column,
        };

    /// <summary>Reads an Arrow IPC stream (a schema and record batches).</summary>
    public static List<RecordBatch> ReadArrow(ReadOnlyMemory<byte> bytes, string where)
    {
        var batches = new List<RecordBatch>();
        try
        {
            ArrowIpcGuard.CheckSchema(bytes.Span); // before the reader, whose recursion a deeply nested schema overflows
            using var reader = new ArrowStreamReader(bytes);
            while (reader.ReadNextRecordBatch() is { } batch) batches.Add(batch);
        }
        catch (SchemaMismatchException ex)
        {
            throw new BadInputException(ex.Message, where);
        }
        catch (Exception ex) when (ex is not BadInputException)
        {
            throw new BadInputException($"arrow_ipc is not a readable Arrow IPC stream ({ex.Message}); send a schema message and record batches", where);
        }
        return batches;
    }

    /// <summary>Checks that an Arrow schema can fill <paramref name="schema"/> (every input column present).</summary>
    public static void CheckArrowSchema(Apache.Arrow.Schema arrow, Schema schema, string where)
    {
        foreach (var field in schema)
            if (arrow.GetFieldIndex(field.Name) < 0 && !field.Nullable)
                throw new BadInputException(
                    $"the Arrow batch has no column '{field.Name}'; it has: {string.Join(", ", arrow.FieldsList.Select(f => f.Name))}", where)
                { Column = field.Name };
    }

    /// <summary>Copies rows [first, first+count) of an Arrow batch into rows [at, ...) of the first
    /// <paramref name="inputColumns"/> columns of <paramref name="batch"/>. The conversions are the engine's
    /// (<see cref="Column.CopyFrom"/>): whatever pandas and pyarrow write (timestamps of any unit and zone, large and
    /// dictionary-encoded strings, categoricals, narrower integers) fills the column it means.</summary>
    public static void Write(RecordBatch arrow, int first, int count, ColumnBatch batch, int at, string where, int inputColumns)
    {
        for (var c = 0; c < inputColumns; c++)
        {
            var column = batch[c];
            var index = arrow.Schema.GetFieldIndex(column.Field.Name);
            if (index < 0)
            {
                for (var r = 0; r < count; r++) column.SetNull(at + r);
                continue;
            }
            var array = arrow.Column(index);
            if (!column.Field.Nullable && array.NullCount > 0)
                for (var r = 0; r < count; r++)
                    if (array.IsNull(first + r))
                        throw new BadInputException($"row {first + r} column '{column.Field.Name}' is null but the column is required", where)
                        { Row = first + r, Column = column.Field.Name };
            try
            {
                column.CopyFrom(array, first, at, count);
            }
            catch (SchemaMismatchException ex)
            {
                throw new BadInputException(ex.Message, where) { Column = column.Field.Name };
            }
        }
    }

    /// <summary>The selected rows of a batch as protobuf rows, restricted to <paramref name="columns"/> when not empty.</summary>
    public static RowSet ToRowSet(ColumnBatch batch, IReadOnlyList<string> columns)
    {
        var indexes = columns.Count == 0
            ? Enumerable.Range(0, batch.Schema.Count).ToArray()
            : [.. columns.Select(batch.Schema.IndexOf).Where(i => i >= 0)];
        var set = new RowSet();
        foreach (var i in indexes) set.Columns.Add(batch.Schema[i].Name);
        for (var row = 0; row < batch.Length; row++)
        {
            if (!batch.Selection.IsSelected(row)) continue;
            var r = new Row();
            foreach (var i in indexes) r.Values.Add(ToValue(batch[i], row));
            set.Rows.Add(r);
        }
        return set;
    }

    public static Value ToValue(Column column, int row)
    {
        if (!column.IsValid(row)) return new Value();
        return column.Type switch
        {
            ColumnType.Float32 => new Value { Number = column.Values<float>()[row] },
            ColumnType.Float64 => new Value { Number = column.Values<double>()[row] },
            ColumnType.Int32 => new Value { Integer = column.Values<int>()[row] },
            ColumnType.Int64 => new Value { Integer = column.Values<long>()[row] },
            ColumnType.Timestamp => new Value { TimestampMicros = column.Values<long>()[row] },
            ColumnType.Bool => new Value { Flag = column.Values<byte>()[row] != 0 },
            ColumnType.Binary => new Value { Data = Google.Protobuf.ByteString.CopyFrom(column.GetBytes(row)) },
            _ => new Value { Text = column.Dictionary![column.Values<int>()[row]] },
        };
    }
}

using Apache.Arrow;
using Apache.Arrow.Types;
using StreamMl.Engine;
using Schema = StreamMl.Engine.Schema;

namespace StreamMl.Host.Pipelines;

/// <summary>Copies Arrow columns straight into a pipeline's batch, once, when nothing can go wrong in the copy: every
/// column the pipeline reads is an Arrow array of exactly its type (int32, int64, float32, float64; int64 or
/// microsecond timestamps for a timestamp column) whose buffers cover its rows, and required columns have no nulls.
/// <see cref="TryPlan"/> checks that in the request handler, so a message that needs converting, or is damaged or
/// invalid, takes the staging path (<see cref="RowCodec.Write(RecordBatch, int, int, ColumnBatch, int, string, int)"/>),
/// which converts and names what is wrong; the copy itself then runs on the pipeline's source thread.</summary>
internal static class ArrowDirectCopy
{
    /// <summary>Whether <paramref name="arrow"/> can be copied directly into batches of <paramref name="schema"/>; fills
    /// <paramref name="columns"/> with each input column's Arrow column index (-1: not sent, null).</summary>
    public static bool TryPlan(RecordBatch arrow, Schema schema, int[] columns)
    {
        for (var c = 0; c < schema.Count; c++)
        {
            var field = schema[c];
            var index = arrow.Schema.GetFieldIndex(field.Name);
            columns[c] = index;
            if (index < 0)
            {
                if (!field.Nullable) return false;
                continue;
            }
            var array = arrow.Column(index);
            if (!IsExactType(field.Type, array) || array.Length < arrow.Length) return false;
            var buffers = array.Data.Buffers;
            var rows = (long)array.Data.Offset + arrow.Length;
            if (buffers.Length < 2 || buffers[1].Length < rows * ColumnTypes.SizeOf(field.Type)) return false;
            if (array.NullCount != 0 && (!field.Nullable || (!buffers[0].IsEmpty && buffers[0].Length * 8L < rows))) return false;
        }
        return true;
    }

    private static bool IsExactType(ColumnType type, IArrowArray array) => (type, array) switch
    {
        (ColumnType.Float32, FloatArray) or (ColumnType.Float64, DoubleArray) or (ColumnType.Int32, Int32Array)
            or (ColumnType.Int64, Int64Array) or (ColumnType.Timestamp, Int64Array) => true,
        (ColumnType.Timestamp, TimestampArray timestamps) => ((TimestampType)timestamps.Data.DataType).Unit == TimeUnit.Microsecond,
        _ => false,
    };

    /// <summary>Copies <paramref name="count"/> rows of the chunk's record batch, from its row <paramref name="from"/>,
    /// into rows [<paramref name="at"/>, ...) of <paramref name="batch"/>; <paramref name="map"/> gives each input
    /// column's index in the batch. Values of null rows are copied as they are, except timestamps, which are 0 (as
    /// the engine's conversion leaves them).</summary>
    public static void Copy(IngestChunk chunk, int from, int count, ColumnBatch batch, int at, int[] map)
    {
        var arrow = chunk.Arrow!;
        for (var c = 0; c < map.Length; c++)
        {
            var target = batch[map[c]];
            var index = chunk.ArrowColumns[c];
            if (index < 0)
            {
                for (var r = 0; r < count; r++) target.SetNull(at + r);
                continue;
            }
            var array = arrow.Column(index);
            var size = ColumnTypes.SizeOf(target.Type);
            array.Data.Buffers[1].Span.Slice((array.Data.Offset + from) * size, count * size).CopyTo(target.RawValues[(at * size)..]);
            if (array.NullCount == 0)
            {
                target.SetValid(at, count);
                continue;
            }
            var zeroNulls = array is TimestampArray;
            for (var r = 0; r < count; r++)
            {
                if (!array.IsNull(from + r))
                {
                    target.SetValid(at + r);
                    continue;
                }
                target.SetNull(at + r);
                if (zeroNulls) target.Values<long>()[at + r] = 0;
            }
        }
    }
}

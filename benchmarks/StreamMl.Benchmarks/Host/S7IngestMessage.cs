using Google.Protobuf;
using StreamMl.Engine;
using StreamMl.Host.Protos;

namespace StreamMl.Benchmarks.Host;

/// <summary>One Ingest message shaped like harness S7's: 4,096 rows of 25 int64 columns (c0 … c24, values drawn from
/// <c>Random(7)</c>) as an Arrow IPC stream in <c>arrow_ipc</c>, about 820 KB serialized.</summary>
internal static class S7IngestMessage
{
    public const int Rows = 4096;

    public static readonly string[] Columns = [.. Enumerable.Range(0, 25).Select(i => $"c{i}")];

    /// <summary>The pipeline's schema for the message: every column int64.</summary>
    public static Schema Schema() => new(Columns.Select(n => new Field(n, ColumnType.Int64)));

    /// <summary>The serialized <see cref="IngestRequest"/>.</summary>
    public static byte[] Serialized()
    {
        var random = new Random(7);
        var builder = new Apache.Arrow.RecordBatch.Builder();
        foreach (var name in Columns)
        {
            var values = Enumerable.Range(0, Rows).Select(_ => (long)random.Next(-50_000, 500_000)).ToArray();
            builder.Append(name, true, b => b.Int64(a => a.AppendRange(values)));
        }
        using var record = builder.Build();
        using var stream = new MemoryStream();
        using (var writer = new Apache.Arrow.Ipc.ArrowStreamWriter(stream, record.Schema, leaveOpen: true))
        {
            writer.WriteRecordBatch(record);
            writer.WriteEnd();
        }
        return new IngestRequest { Pipeline = "s7", ArrowIpc = ByteString.CopyFrom(stream.ToArray()) }.ToByteArray();
    }
}

using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using Google.Protobuf;
using StreamMl.Engine;
using StreamMl.Host.Pipelines;
using StreamMl.Host.Protos;

namespace StreamMl.Benchmarks.Host;

/// <summary>What an Ingest handler does per message after HTTP/2 and gRPC have framed it (harness S7's "decode" row):
/// parse the protobuf <c>IngestRequest</c> (its Arrow payload is copied into a new byte array), read the Arrow IPC
/// stream and copy its 25 int64 columns into a staging batch. 4,096 rows per message; one operation = one row, so
/// the mean is CPU ns per row. Two jobs in the same run: the default large-object threshold (85,000 bytes: the 820 KB
/// payload array is a large object, and each collection a generation-2 one) and the 2 MB of streamml's runtimeconfig.</summary>
[MemoryDiagnoser]
[BenchmarkDotNet.Attributes.Config(typeof(LohJobs))]
public class IngestDecodeBenchmarks
{
    private const int Rows = S7IngestMessage.Rows;
    private byte[] _message = [];
    private ColumnBatch _staging = null!;
    private Schema _schema = null!;

    /// <summary>Both large-object thresholds as jobs of one run.</summary>
    public sealed class LohJobs : ManualConfig
    {
        /// <summary>Short jobs, one per threshold.</summary>
        public LohJobs()
        {
            AddJob(Job.ShortRun.WithEnvironmentVariable("DOTNET_GCLOHThreshold", "14C08").WithId("LOH 85 KB (default)").AsBaseline());
            AddJob(Job.ShortRun.WithEnvironmentVariable("DOTNET_GCLOHThreshold", "200000").WithId("LOH 2 MB"));
        }
    }

    [GlobalSetup]
    public void Setup()
    {
        _message = S7IngestMessage.Serialized();
        _schema = S7IngestMessage.Schema();
        _staging = new ColumnBatch(_schema, Rows);
    }

    [GlobalCleanup]
    public void Cleanup() => _staging.Dispose();

    /// <summary>Protobuf parse, Arrow IPC read, copy into the staging batch.</summary>
    [Benchmark(OperationsPerInvoke = Rows)]
    public int ParseAndDecode()
    {
        var request = IngestRequest.Parser.ParseFrom(_message);
        var rows = 0;
        foreach (var arrow in RowCodec.ReadArrow(request.ArrowIpc.Memory, "benchmark"))
        {
            using (arrow)
            {
                RowCodec.CheckArrowSchema(arrow.Schema, _schema, "benchmark");
                _staging.Length = arrow.Length;
                RowCodec.Write(arrow, 0, arrow.Length, _staging, 0, "benchmark", _schema.Count);
                rows += arrow.Length;
            }
        }
        return rows;
    }
}

using System.Buffers;
using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using StreamMl.Engine;
using StreamMl.Host.Grpc;
using StreamMl.Host.Pipelines;
using StreamMl.Host.Protos;

namespace StreamMl.Benchmarks.Host;

/// <summary>Harness S7's host-side decode, per row, from the request body as Kestrel hands it over (4 KB segments) to
/// the rows in the pipeline's ring batch: 4,096 rows × 25 int64 columns (an 820 KB message). Before: protobuf's parse
/// (the payload copied into a new array), the Arrow read, a copy into a staging batch and the source's copy from there
/// into the ring batch. After: <see cref="IngestRequestReader"/> (the payload copied once into a pooled array), the
/// Arrow read, and <see cref="GrpcIngestSource"/> copying the Arrow columns straight into the ring batch
/// (<see cref="ArrowDirectCopy"/>). One operation = one row.</summary>
[MemoryDiagnoser]
public class IngestCopyBenchmarks
{
    private const int Rows = S7IngestMessage.Rows;
    private ReadOnlySequence<byte> _message;
    private Schema _schema = null!;
    private ColumnBatch _staging = null!;
    private ColumnBatch _ring = null!;
    private GrpcIngestSource _source = null!;

    [GlobalSetup]
    public void Setup()
    {
        var bytes = S7IngestMessage.Serialized();
        _message = Segments(bytes, 4096);
        _schema = S7IngestMessage.Schema();
        _staging = new ColumnBatch(_schema, Rows);
        _ring = new ColumnBatch(_schema, Rows);
        _source = new GrpcIngestSource("grpc", _schema, Rows, queueBatches: 4, eventTimeColumn: null);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _staging.Dispose();
        _ring.Dispose();
        _source.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    /// <summary>Protobuf parse, Arrow read, staging batch, copy into the ring batch (the path before).</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Rows)]
    public int ParseStageAndCopy()
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
                _ring.Reset();
                _ring.Length = arrow.Length;
                for (var c = 0; c < _schema.Count; c++)
                    _staging[c].RawValues[..(arrow.Length * 8)].CopyTo(_ring[c].RawValues);
                rows += arrow.Length;
            }
        }
        return rows;
    }

    /// <summary>Pooled payload, Arrow read, one copy straight into the ring batch (the path now).</summary>
    [Benchmark(OperationsPerInvoke = Rows)]
    public int PooledAndDirect()
    {
        var request = IngestRequestReader.Parse(_message);
        var accepted = _source.AcceptAsync(request, "benchmark", CancellationToken.None).GetAwaiter().GetResult();
        request.ReleasePayload();
        _ring.Reset();
        _source.FillAsync(_ring, CancellationToken.None).GetAwaiter().GetResult();
        return (int)accepted + _ring.Length;
    }

    private static ReadOnlySequence<byte> Segments(byte[] bytes, int size)
    {
        Segment? first = null, last = null;
        for (var at = 0; at < bytes.Length; at += size)
        {
            var next = new Segment(bytes.AsMemory(at, Math.Min(size, bytes.Length - at)), last);
            first ??= next;
            last = next;
        }
        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, Segment? previous)
        {
            Memory = memory;
            if (previous is null) return;
            RunningIndex = previous.RunningIndex + previous.Memory.Length;
            previous.Next = this;
        }
    }
}

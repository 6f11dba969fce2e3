using Apache.Arrow;
using StreamMl.Engine;

namespace StreamMl.Host.Pipelines;

/// <summary>Rows of one Ingest message waiting in <see cref="GrpcIngestSource"/>'s queue: either a staging batch
/// (protobuf rows, or Arrow columns that needed converting) or a range of an Arrow record batch whose columns are
/// copied straight into the pipeline's batch (<see cref="ArrowDirectCopy"/>), with the positions and arrival time the
/// handler gave them. Chunks are reused.</summary>
internal sealed class IngestChunk
{
    /// <summary>The staging batch, or null for an Arrow range.</summary>
    public ColumnBatch? Staged { get; set; }

    /// <summary>The Arrow record batch, or null for a staging batch.</summary>
    public RecordBatch? Arrow { get; set; }

    /// <summary>The payload that <see cref="Arrow"/> points into (one reference held by this chunk).</summary>
    public ArrowPayload? Payload { get; set; }

    /// <summary>The first row of <see cref="Arrow"/> in this chunk.</summary>
    public int ArrowFirst { get; set; }

    /// <summary>For each input column (in the source schema's order), the index of its Arrow column, or -1 when the
    /// message does not have it (the rows are null).</summary>
    public int[] ArrowColumns { get; set; } = [];

    /// <summary>Rows in the chunk.</summary>
    public int Length { get; set; }

    /// <summary>Position (row offset) of the first row of an Arrow range; the rest follow one by one.</summary>
    public long FirstOffset { get; set; }

    /// <summary>Partition of an Arrow range's rows.</summary>
    public int Partition { get; set; }

    /// <summary>Event time of an Arrow range's rows when the source has no event-time column: the arrival time.</summary>
    public long ArrivalMicros { get; set; }
}

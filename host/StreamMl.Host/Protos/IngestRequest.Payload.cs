namespace StreamMl.Host.Protos;

/// <summary>An Ingest message whose Arrow payload the host read into a pooled buffer (<see cref="Grpc.IngestRequestReader"/>)
/// instead of a new array per message. The buffer goes back to the pool once the message's rows are copied into the
/// pipeline (<see cref="Pipelines.ArrowPayload"/>), or when the message is done with (<see cref="ReleasePayload"/>).</summary>
public sealed partial class IngestRequest
{
    /// <summary>The pooled array behind <see cref="ArrowIpc"/>, or null when the payload is protobuf's own copy.</summary>
    internal byte[]? PooledPayload { get; set; }

    /// <summary>Hands the pooled array over to the caller, who returns it to the pool; null when there is none.</summary>
    internal byte[]? TakePooledPayload()
    {
        var pooled = PooledPayload;
        PooledPayload = null;
        return pooled;
    }

    /// <summary>Returns the pooled array, if this message still holds one, and empties the payload that pointed into it.</summary>
    internal void ReleasePayload()
    {
        if (TakePooledPayload() is not { } pooled) return;
        ArrowIpc = Google.Protobuf.ByteString.Empty;
        Grpc.IngestRequestReader.Return(pooled);
    }
}

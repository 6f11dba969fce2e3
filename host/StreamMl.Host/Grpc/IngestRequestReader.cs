using System.Buffers;
using Google.Protobuf;
using Grpc.Core;
using StreamMl.Host.Protos;

namespace StreamMl.Host.Grpc;

/// <summary>Reads an Ingest message from the request body without protobuf's copy of the Arrow payload into a new array:
/// the payload's bytes are copied once, from Kestrel's buffers into a pooled array, and the other fields are parsed by
/// protobuf as usual. A 4,096-row message of 25 int64 columns is 820 KB; a new array per message meant a zeroed 820 KB
/// allocation and a garbage collection every few messages. The pooled array is returned when the message's rows have
/// been copied into the pipeline's batches (<see cref="Pipelines.ArrowPayload"/>). Messages this reader does not
/// recognise (no Arrow payload, the payload twice, rows and Arrow together, groups, malformed bytes) are parsed by
/// protobuf alone, so their meaning and errors are protobuf's.</summary>
internal static class IngestRequestReader
{
    /// <summary>Arrays up to this size are pooled; larger payloads get an array of their own (a rare message that large
    /// carries enough rows to pay for it).</summary>
    public const int LargestPooled = 4 * 1024 * 1024;

    // At most this many arrays of each power-of-two size are kept (a pipeline queues up to queue_batches messages, and
    // each holds its array until the pipeline has read it).
    private static readonly ArrayPool<byte> s_pool = ArrayPool<byte>.Create(LargestPooled, maxArraysPerBucket: 48);

    /// <summary>The request deserializer of Ingest and IngestAcked.</summary>
    public static IngestRequest Deserialize(DeserializationContext context) => Parse(context.PayloadAsReadOnlySequence());

    /// <summary>Parses one serialized <see cref="IngestRequest"/>; an Arrow payload lands in a pooled array
    /// (<see cref="IngestRequest.PooledPayload"/>), which <see cref="IngestRequest.ReleasePayload"/> returns.</summary>
    public static IngestRequest Parse(ReadOnlySequence<byte> message)
    {
        if (!TryLocateArrowPayload(message, out var fieldStart, out var payloadStart, out var payloadLength) || payloadLength == 0)
            return IngestRequest.Parser.ParseFrom(message);
        var request = new IngestRequest();
        // Protobuf merges fields in order: the fields before the payload and those after it parse as the whole would.
        request.MergeFrom(message.Slice(0, fieldStart));
        request.MergeFrom(message.Slice(payloadStart + payloadLength));
        var pooled = Rent(payloadLength);
        message.Slice(payloadStart, payloadLength).CopyTo(pooled);
        request.ArrowIpc = UnsafeByteOperations.UnsafeWrap(pooled.AsMemory(0, payloadLength));
        request.PooledPayload = pooled;
        return request;
    }

    /// <summary>An array of at least <paramref name="length"/> bytes, from the pool when it is not too large.</summary>
    public static byte[] Rent(int length) => length <= LargestPooled ? s_pool.Rent(length) : new byte[length];

    /// <summary>Gives back an array from <see cref="Rent"/>.</summary>
    public static void Return(byte[] pooled)
    {
        if (pooled.Length <= LargestPooled) s_pool.Return(pooled);
    }

    /// <summary>Finds the one <c>arrow_ipc</c> field among the top-level fields: where its tag starts, where its bytes start
    /// and how many there are. False for anything else, which protobuf then parses (and, if malformed, reports).</summary>
    private static bool TryLocateArrowPayload(ReadOnlySequence<byte> message, out long fieldStart, out long payloadStart, out int payloadLength)
    {
        fieldStart = payloadStart = 0;
        payloadLength = 0;
        var found = false;
        var reader = new SequenceReader<byte>(message);
        while (!reader.End)
        {
            var at = reader.Consumed;
            if (!TryReadVarint(ref reader, out var tag)) return false;
            var field = tag >> 3;
            switch (tag & 7)
            {
                case 0:
                    if (!TryReadVarint(ref reader, out _)) return false;
                    break;
                case 1:
                    if (reader.Remaining < 8) return false;
                    reader.Advance(8);
                    break;
                case 5:
                    if (reader.Remaining < 4) return false;
                    reader.Advance(4);
                    break;
                case 2:
                    {
                        if (!TryReadVarint(ref reader, out var length) || length > (ulong)reader.Remaining || length > int.MaxValue) return false;
                        if (field == IngestRequest.RowsFieldNumber) return false; // rows and Arrow in one message: protobuf's oneof rules decide
                        if (field == IngestRequest.ArrowIpcFieldNumber)
                        {
                            if (found) return false;
                            found = true;
                            fieldStart = at;
                            payloadStart = reader.Consumed;
                            payloadLength = (int)length;
                        }
                        reader.Advance((long)length);
                        break;
                    }
                default:
                    return false;
            }
        }
        return found;
    }

    private static bool TryReadVarint(ref SequenceReader<byte> reader, out ulong value)
    {
        value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (!reader.TryRead(out var b)) return false;
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return true;
        }
        return false;
    }
}

using System.Globalization;
using Grpc.Core;
using StreamMl.Engine;
using StreamMl.Host.Pipelines;
using StreamMl.Host.Protos;

namespace StreamMl.Host.Grpc;

/// <summary>One Ingest or IngestAcked stream: opens the pipeline named by the first message, accepts each message's
/// rows, drops duplicates of messages already accepted from the same producer, and keeps the counts that the
/// acknowledgements, the response and the trailers report.</summary>
internal sealed class IngestSession(PipelineManager pipelines)
{
    /// <summary>Longest producer name accepted.</summary>
    public const int MaxProducerLength = 200;

    private GrpcIngestSource? _source;
    private ManagedPipeline? _pipeline;

    public long RowsAccepted { get; private set; }

    public long Messages { get; private set; }

    public long Duplicates { get; private set; }

    /// <summary>The last producer's highest accepted sequence.</summary>
    public long AcceptedThrough { get; private set; }

    /// <summary>The last producer's highest committed sequence (with a checkpoint on the source; 0 otherwise).</summary>
    public long CommittedThrough { get; private set; }

    /// <summary>Accepts one message (or recognises it as a duplicate) and returns its acknowledgement. A pooled Arrow
    /// payload (<see cref="IngestRequestReader"/>) that the pipeline did not take over goes back to the pool however the
    /// message ends.</summary>
    public async Task<IngestAck> AcceptAsync(IngestRequest request, CancellationToken cancellationToken)
    {
        try
        {
            return await AcceptCoreAsync(request, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            request.ReleasePayload();
        }
    }

    private async Task<IngestAck> AcceptCoreAsync(IngestRequest request, CancellationToken cancellationToken)
    {
        var where = $"Ingest message {Messages}" + (request.Sequence > 0 ? $" (sequence {request.Sequence})" : "");
        var source = Open(request, where);
        var ack = new IngestAck { Sequence = request.Sequence > 0 ? request.Sequence : Messages };
        if (request.Producer.Length == 0)
        {
            ack.Rows = await source.AcceptAsync(request, where, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            CheckProducer(request, where);
            var producer = _pipeline!.Runtime.Producers.Get(request.Producer);
            await producer.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (request.Sequence <= producer.AcceptedThrough)
                {
                    ack.Duplicate = true;
                    Duplicates++;
                }
                else
                {
                    ack.Rows = await source.AcceptAsync(request, where, cancellationToken, producer).ConfigureAwait(false);
                    producer.AcceptedThrough = request.Sequence;
                    source.Checkpoint?.Accepted(producer, request.Sequence);
                }
                AcceptedThrough = producer.AcceptedThrough;
                CommittedThrough = producer.CommittedThrough;
            }
            finally
            {
                producer.Gate.Release();
            }
        }
        RowsAccepted += ack.Rows;
        Messages++;
        ack.RowsAccepted = RowsAccepted;
        ack.Messages = Messages;
        ack.AcceptedThrough = AcceptedThrough;
        ack.CommittedThrough = CommittedThrough;
        return ack;
    }

    /// <summary>The stream's totals as response trailers, sent however the call ends (also with an error status).</summary>
    public void WriteTrailers(ServerCallContext context)
    {
        context.ResponseTrailers.Add("streamml-rows-accepted", RowsAccepted.ToString(CultureInfo.InvariantCulture));
        context.ResponseTrailers.Add("streamml-messages", Messages.ToString(CultureInfo.InvariantCulture));
        context.ResponseTrailers.Add("streamml-duplicates", Duplicates.ToString(CultureInfo.InvariantCulture));
        context.ResponseTrailers.Add("streamml-accepted-through", AcceptedThrough.ToString(CultureInfo.InvariantCulture));
        context.ResponseTrailers.Add("streamml-committed-through", CommittedThrough.ToString(CultureInfo.InvariantCulture));
    }

    public IngestResponse ToResponse() =>
        new() { RowsAccepted = RowsAccepted, Messages = Messages, Duplicates = Duplicates, AcceptedThrough = AcceptedThrough, CommittedThrough = CommittedThrough };

    private GrpcIngestSource Open(IngestRequest request, string where)
    {
        if (_source is not null)
        {
            if (request.Pipeline.Length > 0 && request.Pipeline != _pipeline!.Name)
            {
                // Rows go to the pipeline the stream opened with; a message meant for another one must not land there.
                throw new BadInputException(
                    $"names pipeline '{request.Pipeline}', but this stream feeds pipeline '{_pipeline.Name}' (named by its first message); " +
                    $"one Ingest stream feeds one pipeline: open another stream for '{request.Pipeline}'. This message was not accepted; " +
                    $"the {RowsAccepted} row(s) of the {Messages} earlier message(s) were", where);
            }
            return _source;
        }
        if (request.Pipeline.Length == 0)
            throw new BadInputException("the first message must name the pipeline", where);
        var pipeline = pipelines.Get(request.Pipeline);
        if (pipeline.State != PipelineState.Running)
            throw new RpcException(new Status(StatusCode.FailedPrecondition,
                $"pipeline '{pipeline.Name}' is {pipeline.State.ToString().ToLowerInvariant()}: start it before ingesting"));
        _source = pipeline.Runtime.Ingest ?? throw new RpcException(new Status(StatusCode.FailedPrecondition,
            $"pipeline '{pipeline.Name}' reads from a {pipeline.Spec.Source.Kind} source; Ingest needs a pipeline whose source is 'kind: grpc'"));
        _pipeline = pipeline;
        return _source;
    }

    private static void CheckProducer(IngestRequest request, string where)
    {
        if (request.Producer.Length > MaxProducerLength)
            throw ErrorDetails.InvalidField("producer", $"{where}: producer is {request.Producer.Length} characters long; at most {MaxProducerLength}");
        if (request.Sequence <= 0)
            throw ErrorDetails.InvalidField("sequence",
                $"{where}: a message with a producer ({Hosting.SafeText.Quote(request.Producer)}) needs a sequence above 0, increasing per message; got {request.Sequence}");
    }
}

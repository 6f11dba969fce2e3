using Apache.Arrow;
using Apache.Arrow.Ipc;
using Google.Protobuf;
using Grpc.Core;
using StreamMl.Host.Protos;
using StreamMl.Testing;

namespace StreamMl.Host.Tests.Grpc;

/// <summary>Ingest of Arrow columns of exactly the pipeline's types (the pooled payload and the direct copy into the
/// ring batch) through a real gRPC client: every row arrives, and damaged payloads are answered with INVALID_ARGUMENT in
/// the user's words while the host keeps ingesting.</summary>
[Collection(HostCollection.Name)]
public sealed class IngestArrowPayloadTests(HostFixture host)
{
    private static string Spec(string name) => $$"""
        name: {{name}}
        options: { batch_capacity: 256, ring_size: 4 }
        source:
          kind: grpc
          columns: { temperature: float32, vibration: float64, count: int64 }
          required: [temperature]
        sinks:
          - kind: memory
            keep_rows: 0
        """;

    private async Task<StreamMl.Host.Pipelines.ManagedPipeline> CreateAsync(string name)
    {
        await host.Control().CreatePipelineAsync(new CreatePipelineRequest { Spec = Spec(name), Start = true, Replace = true });
        return host.Pipelines.Get(name);
    }

    private static byte[] Payload(int rows, int seed)
    {
        var random = new Random(seed);
        var batch = new RecordBatch.Builder()
            .Append("temperature", false, new FloatArray.Builder().AppendRange(Enumerable.Range(0, rows).Select(_ => (float)random.NextDouble())).Build())
            .Append("vibration", true, new DoubleArray.Builder().AppendRange(Enumerable.Range(0, rows).Select(_ => random.NextDouble())).Build())
            .Append("count", true, new Int64Array.Builder().AppendRange(Enumerable.Range(0, rows).Select(i => (long)i)).Build())
            .Build();
        using var stream = new MemoryStream();
        using (var writer = new ArrowStreamWriter(stream, batch.Schema, leaveOpen: true))
        {
            writer.WriteRecordBatch(batch);
            writer.WriteEnd();
        }
        return stream.ToArray();
    }

    private async Task<(IngestResponse? Response, RpcException? Error)> IngestAsync(string pipeline, params byte[][] payloads)
    {
        try
        {
            using var call = host.DataPlane().Ingest();
            foreach (var payload in payloads)
                await call.RequestStream.WriteAsync(new IngestRequest { Pipeline = pipeline, ArrowIpc = ByteString.CopyFrom(payload) });
            await call.RequestStream.CompleteAsync();
            return (await call, null);
        }
        catch (RpcException ex)
        {
            return (null, ex);
        }
    }

    [Fact]
    public async Task Every_row_of_many_messages_reaches_the_sink()
    {
        var pipeline = await CreateAsync("ingest-arrow-direct");
        var payloads = Enumerable.Range(0, 30).Select(i => Payload(100 + i * 37, i)).ToArray();
        var (response, error) = await IngestAsync(pipeline.Name, payloads);
        Assert.Null(error);
        var rows = Enumerable.Range(0, 30).Sum(i => 100 + i * 37);
        Assert.Equal(rows, response!.RowsAccepted);
        await Eventually.TrueAsync(() => pipeline.Runtime.Memory!.Rows == rows, "every ingested row in the sink", seen: () => $"{pipeline.Runtime.Memory!.Rows} of {rows}");
    }

    [Fact]
    public async Task Truncated_and_flipped_payloads_are_refused_in_the_users_words_and_ingest_goes_on()
    {
        var pipeline = await CreateAsync("ingest-arrow-hostile");
        var bytes = Payload(40, 3);
        var random = new Random(21);
        var failures = new List<string>();
        var accepted = 0L;
        for (var trial = 0; trial < 160; trial++)
        {
            var copy = trial < 80 ? bytes[..random.Next(bytes.Length)] : (byte[])bytes.Clone();
            if (trial >= 80) copy[random.Next(copy.Length)] = (byte)random.Next(256);
            var (response, error) = await IngestAsync(pipeline.Name, copy);
            if (error is null)
            {
                accepted += response!.RowsAccepted;
                continue;
            }
            if (error.StatusCode != StatusCode.InvalidArgument || error.Status.Detail.Contains("Exception", StringComparison.Ordinal)
                || error.Status.Detail.Contains("System.", StringComparison.Ordinal))
                failures.Add($"trial {trial}: {error.StatusCode} {error.Status.Detail}");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(20)));
        var (good, goodError) = await IngestAsync(pipeline.Name, bytes);
        Assert.Null(goodError);
        Assert.Equal(40, good!.RowsAccepted);
        await Eventually.TrueAsync(() => pipeline.Runtime.Memory!.Rows == accepted + 40, "the accepted rows in the sink",
            seen: () => $"{pipeline.Runtime.Memory!.Rows} of {accepted + 40}");
    }
}

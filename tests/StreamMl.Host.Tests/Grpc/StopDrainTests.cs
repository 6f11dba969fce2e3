using System.Collections.Concurrent;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using StreamMl.Engine;
using StreamMl.Host.Hosting;
using StreamMl.Host.Pipelines;
using StreamMl.Host.Protos;
using StreamMl.Host.Specs;

namespace StreamMl.Host.Tests.Grpc;

/// <summary>"Nothing lost" across a stop: every row an Ingest call acknowledged reaches the sinks, however much of it
/// was still queued when StopPipeline arrived, and Ingest messages sent after the stop began are refused with a status
/// that says so. Runs its own host so it can add a deliberately slow sink kind (a sleep per batch) that keeps rows
/// queued behind it when the stop arrives.</summary>
public sealed class StopDrainTests : IAsyncLifetime
{
    private const string Spec = """
        name: drain
        options: { batch_capacity: 64, ring_size: 2 }
        source:
          kind: grpc
          columns: { id: int64, temperature: float32 }
          queue_batches: 1024
        sinks:
          - kind: slow-recorder
        """;

    private readonly RecordingSink _sink = new();
    private StreamMlServer _server = null!;
    private GrpcChannel _channel = null!;

    public async Task InitializeAsync()
    {
        _server = await StreamMlServer.StartAsync(new StreamMlOptions { Port = 0, MetricsPort = -1 });
        _server.Services.GetRequiredService<ComponentRegistry>().Sinks["slow-recorder"] = (_, _) => _ => _sink;
        _channel = GrpcChannel.ForAddress(_server.Address);
    }

    public async Task DisposeAsync()
    {
        _channel.Dispose();
        await _server.DisposeAsync();
    }

    private static IngestRequest Message(long firstId, int rows, string pipeline = "")
    {
        var set = new RowSet { Columns = { "id", "temperature" } };
        for (var i = 0; i < rows; i++)
            set.Rows.Add(new Row { Values = { new Value { Integer = firstId + i }, new Value { Number = 20 + i % 7 } } });
        return new IngestRequest { Pipeline = pipeline, Rows = set };
    }

    [Fact]
    public async Task Stop_delivers_every_acknowledged_row_that_was_still_queued()
    {
        const int messages = 100, rowsPerMessage = 100;
        var control = new Control.ControlClient(_channel);
        var dataPlane = new DataPlane.DataPlaneClient(_channel);
        await control.CreatePipelineAsync(new CreatePipelineRequest { Spec = Spec, Start = true });

        using (var call = dataPlane.Ingest())
        {
            for (var m = 0; m < messages; m++)
                await call.RequestStream.WriteAsync(Message((long)m * rowsPerMessage, rowsPerMessage, m == 0 ? "drain" : ""));
            await call.RequestStream.CompleteAsync();
            Assert.Equal(messages * rowsPerMessage, (await call.ResponseAsync).RowsAccepted);
        }
        // The sink sleeps per batch, so most rows are still queued: this is the case a stop used to drop.
        var lag = (await control.GetStatusAsync(new PipelineRef { Name = "drain" })).LagRows;
        Assert.True(lag > 0, "the test needs rows still queued when the stop arrives");

        await control.StopPipelineAsync(new PipelineRef { Name = "drain" });

        var ids = _sink.Ids.Order().ToArray();
        Assert.Equal(Enumerable.Range(0, messages * rowsPerMessage).Select(i => (long)i), ids);
        var status = await control.GetStatusAsync(new PipelineRef { Name = "drain" });
        Assert.Equal("stopped", status.Info.State);
        Assert.Equal(0, status.LagRows);
    }

    [Fact]
    public async Task Ingest_after_the_stop_began_is_refused_and_earlier_messages_are_delivered()
    {
        var control = new Control.ControlClient(_channel);
        var dataPlane = new DataPlane.DataPlaneClient(_channel);
        await control.CreatePipelineAsync(new CreatePipelineRequest { Spec = Spec, Start = true });

        // An open stream whose first messages were taken before the stop.
        using var open = dataPlane.Ingest();
        for (var m = 0; m < 20; m++) await open.RequestStream.WriteAsync(Message(m * 100L, 100, m == 0 ? "drain" : ""));
        await WaitUntilAsync(async () =>
            (await control.GetStatusAsync(new PipelineRef { Name = "drain" })).LagRows + _sink.Ids.Count >= 2000);

        var stop = control.StopPipelineAsync(new PipelineRef { Name = "drain" }).ResponseAsync;
        await WaitUntilAsync(async () => (await control.GetStatusAsync(new PipelineRef { Name = "drain" })).Info.State != "running");

        // A new call is refused at its first message, naming the state.
        using (var late = dataPlane.Ingest())
        {
            await late.RequestStream.WriteAsync(Message(1_000_000, 10, "drain"));
            await late.RequestStream.CompleteAsync();
            var refused = await Assert.ThrowsAsync<RpcException>(() => late.ResponseAsync);
            Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);
            Assert.Contains("stop", refused.Status.Detail);
        }

        // The open stream's next message is refused too: the whole call fails, saying the message was not accepted.
        try
        {
            await open.RequestStream.WriteAsync(Message(2_000_000, 10));
            await open.RequestStream.CompleteAsync();
        }
        catch (RpcException)
        {
            // The server may already have ended the call; its status is read below.
        }
        var closed = await Assert.ThrowsAsync<RpcException>(() => open.ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, closed.StatusCode);
        Assert.Contains("not accepted", closed.Status.Detail);

        await stop;
        var ids = _sink.Ids.Order().ToArray();
        Assert.Equal(Enumerable.Range(0, 2000).Select(i => (long)i), ids);
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the condition did not hold within 30 s");
            await Task.Delay(5);
        }
    }

    /// <summary>Records the id of every row it is given, slowly (4 ms per batch).</summary>
    private sealed class RecordingSink : IBatchSink
    {
        public ConcurrentBag<long> Ids { get; } = [];

        public string Name => "slow-recorder";

        public ValueTask OpenAsync(SinkContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public void Write(ColumnBatch batch, long sequence)
        {
            Thread.Sleep(4);
            var ids = batch["id"].Values<long>();
            for (var r = 0; r < batch.Length; r++)
                if (batch.Selection.IsSelected(r)) Ids.Add(ids[r]);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}

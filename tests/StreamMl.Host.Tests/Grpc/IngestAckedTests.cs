using System.Diagnostics;
using System.Text.Json;
using Grpc.Core;
using StreamMl.Host.Protos;
using StreamMl.Host.Tests.Files;
using StreamMl.Host.Tests.Node;
using StreamMl.Testing;
using Xunit.Abstractions;

namespace StreamMl.Host.Tests.Grpc;

/// <summary>IngestAcked acknowledges each message as its rows are queued, and a producer's retry after a failure lands
/// each row in the sink once: the messages it had acknowledged come back as duplicates and are dropped. The sink is
/// Parquet, read back with DuckDB.</summary>
[Collection(HostCollection.Name)]
public sealed class IngestAckedTests(HostFixture host, ITestOutputHelper output) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("streamml-acked-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private async Task<string> CreateAsync(string name)
    {
        var sink = Path.Combine(_folder, name).Replace("\\", "/");
        await host.Control().CreatePipelineAsync(new CreatePipelineRequest
        {
            Spec = $$"""
                name: {{name}}
                options: { batch_capacity: 64, ring_size: 4, flush_interval: 50ms }
                source:
                  kind: grpc
                  columns: { id: int64, value: float64 }
                sinks:
                  - { kind: parquet, path: "{{sink}}" }
                """,
            Start = true,
            Replace = true,
        });
        return sink;
    }

    private static IngestRequest Message(string pipeline, string producer, int index, int rows)
    {
        var set = new RowSet { Columns = { "id", "value" } };
        for (var j = 0; j < rows; j++)
        {
            long id = index * rows + j;
            set.Rows.Add(new Row { Values = { new Value { Integer = id }, new Value { Number = id / 2.0 } } });
        }
        return new IngestRequest { Pipeline = pipeline, Producer = producer, Sequence = index + 1, Rows = set };
    }

    private async Task<List<long>> StopAndReadIdsAsync(string name, string sink)
    {
        await host.Control().StopPipelineAsync(new PipelineRef { Name = name });
        return DuckDb.Longs(sink, "id");
    }

    [Fact]
    public async Task Each_message_is_acknowledged_and_a_resent_one_is_dropped_as_a_duplicate()
    {
        const string name = "acked-resend";
        var sink = await CreateAsync(name);
        var client = host.DataPlane();

        var acks = new List<IngestAck>();
        using (var call = client.IngestAcked())
        {
            for (var i = 0; i < 6; i++)
            {
                await call.RequestStream.WriteAsync(Message(name, "p1", i, 10));
                Assert.True(await call.ResponseStream.MoveNext());
                acks.Add(call.ResponseStream.Current);
            }
            // The client "fails" and cancels; every message it saw acknowledged is safe.
        }
        Assert.Equal([1L, 2, 3, 4, 5, 6], acks.Select(a => a.Sequence));
        Assert.All(acks, a => Assert.Equal(10, a.Rows));
        Assert.Equal(60, acks[^1].RowsAccepted);
        Assert.Equal(6, acks[^1].AcceptedThrough);

        // The retry sends everything again on a new stream: the first six are duplicates, the rest are new.
        using (var retry = client.IngestAcked())
        {
            var retried = new List<IngestAck>();
            for (var i = 0; i < 10; i++)
            {
                await retry.RequestStream.WriteAsync(Message(name, "p1", i, 10));
                Assert.True(await retry.ResponseStream.MoveNext());
                retried.Add(retry.ResponseStream.Current);
            }
            await retry.RequestStream.CompleteAsync();
            Assert.False(await retry.ResponseStream.MoveNext());
            Assert.Equal(Enumerable.Repeat(true, 6).Concat(Enumerable.Repeat(false, 4)), retried.Select(a => a.Duplicate));
            Assert.Equal(40, retried[^1].RowsAccepted);
            Assert.Equal(10, retried[^1].AcceptedThrough);
            var trailers = retry.GetTrailers();
            Assert.Equal("40", trailers.GetValue("streamml-rows-accepted"));
            Assert.Equal("6", trailers.GetValue("streamml-duplicates"));
            Assert.Equal("10", trailers.GetValue("streamml-accepted-through"));
        }

        // Ingest (client streaming) honours the same producer state.
        using (var ingest = client.Ingest())
        {
            for (var i = 8; i < 12; i++) await ingest.RequestStream.WriteAsync(Message(name, "p1", i, 10));
            await ingest.RequestStream.CompleteAsync();
            var response = await ingest;
            Assert.Equal((20L, 2L, 12L), (response.RowsAccepted, response.Duplicates, response.AcceptedThrough));
        }

        Assert.Equal(Enumerable.Range(0, 120).Select(i => (long)i), await StopAndReadIdsAsync(name, sink));
    }

    [Fact]
    public async Task A_message_with_a_producer_needs_a_sequence_above_zero()
    {
        const string name = "acked-no-sequence";
        await CreateAsync(name);
        using var call = host.DataPlane().IngestAcked();
        var message = Message(name, "p", 0, 3);
        message.Sequence = 0;
        await call.RequestStream.WriteAsync(message);
        var ex = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext());
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Equal("sequence", Assert.Single(ErrorDetailsTests.Violations(ex)).Field);
        Assert.Equal("0", ex.Trailers.GetValue("streamml-rows-accepted"));
    }

    [Fact]
    public async Task A_Node_client_killed_mid_stream_and_run_again_delivers_every_row_once()
    {
        const string name = "acked-kill";
        const int messages = 60, rowsPerMessage = 25;
        var sink = await CreateAsync(name);
        var (node, clientFolder, root) = await NodeTool.PrepareAsync(Path.Combine("@grpc", "grpc-js"));
        var address = new Uri(host.Server.Address);
        string[] Arguments(int pauseMs) =>
        [
            Path.Combine(clientFolder, "ingest-acked.mjs"), $"{address.Host}:{address.Port}", HostFixture.ScoreKey, name,
            Path.Combine(root, "host", "StreamMl.Host", "Protos"), "sensor-7", $"{messages}", $"{rowsPerMessage}", $"{pauseMs}",
        ];

        // First run: a message every 30 ms; SIGKILL once it has printed 15 acknowledgements.
        var start = new ProcessStartInfo(node) { WorkingDirectory = clientFolder, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in Arguments(30)) start.ArgumentList.Add(argument);
        using var first = Process.Start(start)!;
        var acked = 0;
        var lines = new List<string>();
        first.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (lines) lines.Add(e.Data);
            Interlocked.Increment(ref acked);
        };
        first.BeginOutputReadLine();
        await Eventually.TrueAsync(() => Volatile.Read(ref acked) >= 15, "15 acknowledgements from the Node client", TimeSpan.FromSeconds(60));
        first.Kill(); // SIGKILL on Linux: no goodbye to the host
        await first.WaitForExitAsync();
        long lastAcked;
        lock (lines) lastAcked = lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("acceptedThrough").GetInt64()).Max();
        Assert.InRange(lastAcked, 15, messages - 1);

        // Second run: everything again, at full speed.
        var (code, rerun, error) = await NodeTool.RunAsync(node, Arguments(0), clientFolder);
        Assert.True(code == 0, $"node exited {code}: {error}");
        var acks = rerun.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var done = acks[^1];
        Assert.True(done.GetProperty("done").GetBoolean());
        var duplicates = acks.Count(a => a.TryGetProperty("duplicate", out var d) && d.GetBoolean());
        output.WriteLine($"first run killed after {lastAcked} acknowledged message(s); the rerun's duplicates: {duplicates}; trailers {done.GetProperty("trailers")}");
        // The host may have accepted messages whose acknowledgement the killed client never printed: at least what it saw.
        Assert.InRange(duplicates, (int)lastAcked, messages);
        Assert.Equal(messages, done.GetProperty("last").GetProperty("acceptedThrough").GetInt64());
        Assert.Equal($"{(messages - duplicates) * rowsPerMessage}", done.GetProperty("trailers").GetProperty("streamml-rows-accepted").GetString());

        // Every row exactly once in the Parquet files, by DuckDB.
        var ids = await StopAndReadIdsAsync(name, sink);
        Assert.Equal(Enumerable.Range(0, messages * rowsPerMessage).Select(i => (long)i), ids);
        var glob = Path.Combine(sink, "**", "*.parquet").Replace("'", "''");
        var check = DuckDb.Query($"SELECT count(*), count(DISTINCT id), count(*) FILTER (WHERE value = id / 2.0) FROM read_parquet('{glob}')")[0];
        Assert.Equal([messages * rowsPerMessage, messages * rowsPerMessage, messages * rowsPerMessage],
            check.Select(v => Convert.ToInt32(v, System.Globalization.CultureInfo.InvariantCulture)));
    }
}

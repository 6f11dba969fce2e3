using System.Globalization;
using Grpc.Core;
using StreamMl.Host.Protos;
using StreamMl.Host.Tests.Files;
using StreamMl.Host.Tests.Hosting;
using StreamMl.Host.Tests.Kafka;
using StreamMl.Testing;
using Xunit.Abstractions;

namespace StreamMl.Host.Tests.KillRestart;

/// <summary>A producer's IngestAcked retry after the host itself was killed (SIGKILL) and restarted: with
/// <c>checkpoint:</c> on the grpc source the committed producer sequences come back from disk, the resent messages up to
/// them are dropped as duplicates, the rest are numbered as they were the first time, and DuckDB reads every sent row
/// exactly once, value for value, from the Parquet sink.</summary>
public sealed class IngestProducerRestartTests(ITestOutputHelper output) : IDisposable
{
    private const int Messages = 80, RowsPerMessage = 25;
    private const string Pipeline = "restart", Producer = "sensor-7";

    private readonly string _folder = Directory.CreateTempSubdirectory("streamml-producer-restart-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static IngestRequest Message(int index)
    {
        var set = new RowSet { Columns = { "id", "value" } };
        for (var j = 0; j < RowsPerMessage; j++)
        {
            long id = index * RowsPerMessage + j;
            set.Rows.Add(new Row { Values = { new Value { Integer = id }, new Value { Number = id * 0.25 - 3 } } });
        }
        return new IngestRequest { Pipeline = Pipeline, Producer = Producer, Sequence = index + 1, Rows = set };
    }

    [Fact]
    public async Task A_producer_resending_everything_after_the_host_was_killed_and_restarted_duplicates_no_row()
    {
        var sink = Path.Combine(_folder, "out").Replace("\\", "/");
        var spec = Path.Combine(_folder, "restart.yaml");
        // Small files (200 rows = 8 messages) and a 50 ms flush: files are published, and positions committed, while
        // the producer is still sending, so the kill falls between commits.
        File.WriteAllText(spec, $$"""
            name: {{Pipeline}}
            options: { batch_capacity: 64, ring_size: 4, flush_interval: 50ms }
            source:
              kind: grpc
              columns: { id: int64, value: float64 }
              checkpoint: "{{Path.Combine(_folder, "ingest.json").Replace("\\", "/")}}"
            sinks:
              - { kind: parquet, path: "{{sink}}", roll_rows: 200 }
            """);
        // Each host binds a free port itself and prints it (a port the test chose could be taken before the host binds it).
        using var firstHost = await ServeProcess.StartAsync("--spec", spec);
        var first = firstHost.Process;
        var client = new DataPlane.DataPlaneClient(firstHost.Channel());

        // First host: a message every 20 ms; SIGKILL once the client has seen some messages committed and more accepted.
        await WaitForHostAsync(client, first);
        IngestAck? lastAck = null;
        using var sending = new CancellationTokenSource();
        var sender = Task.Run(async () =>
        {
            using var call = client.IngestAcked(cancellationToken: sending.Token);
            for (var i = 0; i < Messages; i++)
            {
                await call.RequestStream.WriteAsync(Message(i));
                if (!await call.ResponseStream.MoveNext()) return;
                Volatile.Write(ref lastAck, call.ResponseStream.Current);
                await Task.Delay(20);
            }
        });
        await Eventually.TrueAsync(() => Volatile.Read(ref lastAck) is { CommittedThrough: >= 8, AcceptedThrough: >= 30 } || sender.IsCompleted,
            "acknowledgements with committed messages from host 1", TimeSpan.FromSeconds(90), () => $"last ack {Volatile.Read(ref lastAck)}");
        first.Kill();
        Assert.True(await first.WaitForExitAsync(TimeSpan.FromSeconds(30)), "host 1 did not die after SIGKILL");
        await Assert.ThrowsAnyAsync<Exception>(() => sender);
        var seen = Volatile.Read(ref lastAck)!;
        Assert.InRange(seen.AcceptedThrough, 30, Messages - 1);
        output.WriteLine($"host 1 killed; the client last saw accepted_through {seen.AcceptedThrough}, committed_through {seen.CommittedThrough}; " +
                         $"{Directory.GetFiles(sink, "*.parquet").Length} part(s) published");

        // Second host, same spec and folders; the producer resends everything.
        using var secondHost = await ServeProcess.StartAsync("--spec", spec);
        var second = secondHost.Process;
        var channel = secondHost.Channel();
        client = new DataPlane.DataPlaneClient(channel);
        await WaitForHostAsync(client, second);
        var acks = new List<IngestAck>();
        using (var retry = client.IngestAcked())
        {
            for (var i = 0; i < Messages; i++)
            {
                await retry.RequestStream.WriteAsync(Message(i));
                Assert.True(await retry.ResponseStream.MoveNext());
                acks.Add(retry.ResponseStream.Current);
            }
            await retry.RequestStream.CompleteAsync();
            Assert.False(await retry.ResponseStream.MoveNext());
        }
        var duplicates = acks.TakeWhile(a => a.Duplicate).Count();
        output.WriteLine($"host 2 dropped the first {duplicates} resent message(s) as duplicates");
        // At least what the client saw committed is restored; nothing past what host 1 had accepted is dropped.
        Assert.InRange(duplicates, (int)seen.CommittedThrough, (int)seen.AcceptedThrough);
        Assert.Equal(duplicates, acks.Count(a => a.Duplicate));
        Assert.Equal(Messages, acks[^1].AcceptedThrough);

        await new Control.ControlClient(channel).StopPipelineAsync(new PipelineRef { Name = Pipeline });
        second.Terminate();
        Assert.True(await second.WaitForExitAsync(TimeSpan.FromSeconds(60)), "host 2 did not stop after SIGTERM");

        // Row for row: DuckDB reads exactly the rows sent, each once.
        var glob = Path.Combine(sink, "*.parquet").Replace("'", "''");
        var rows = DuckDb.Query($"SELECT id, value FROM read_parquet('{glob}') ORDER BY id, value");
        var expected = Enumerable.Range(0, Messages).SelectMany(i => Message(i).Rows.Rows).Select(r => (r.Values[0].Integer, r.Values[1].Number)).ToList();
        Assert.Equal(expected.Count, rows.Count);
        Assert.Equal(expected, rows.Select(r => (Convert.ToInt64(r[0], CultureInfo.InvariantCulture), Convert.ToDouble(r[1], CultureInfo.InvariantCulture))));
    }

    private static async Task WaitForHostAsync(DataPlane.DataPlaneClient client, StreamMlProcess process) =>
        await Eventually.TrueAsync(async () =>
        {
            Assert.False(process.HasExited, $"{process.Name} exited: {string.Join("\n", process.Lines)}");
            try
            {
                await client.DescribeModelAsync(new DescribeModelRequest { Pipeline = Pipeline }, deadline: DateTime.UtcNow.AddSeconds(2));
                return true;
            }
            catch (RpcException)
            {
                return false;
            }
        }, $"{process.Name} to serve pipeline '{Pipeline}'", TimeSpan.FromSeconds(60));
}

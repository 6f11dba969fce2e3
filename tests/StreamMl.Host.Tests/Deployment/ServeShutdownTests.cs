using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Confluent.Kafka;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using StreamMl.Connectors.Tests.Kafka;
using StreamMl.Host.Cli;
using StreamMl.Host.Hosting;
using StreamMl.Host.Tests.Kafka;
using StreamMl.Testing;
using Xunit.Abstractions;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace StreamMl.Host.Tests.Deployment;

/// <summary>What a container runtime needs from <c>streamml serve</c> (issue 16, item 5), with a real process configured
/// by environment variables as the image configures it: readiness only once the spec's pipeline runs, JSON logs on
/// standard output, and a drain on SIGTERM that commits exactly what reached the sink.</summary>
public sealed class ServeShutdownTests(ITestOutputHelper output) : IDisposable
{
    private const string Input = "serve-in";
    private const string Output = "serve-out";
    private const string Group = "serve-group";
    private const int Partitions = 4;
    private readonly string _folder = Directory.CreateTempSubdirectory("streamml-serve-").FullName;
    private StreamMlProcess? _process;

    public void Dispose()
    {
        if (_process is not null)
        {
            foreach (var line in _process.Lines.TakeLast(40)) output.WriteLine(line);
            _process.Dispose();
        }
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task Serve_is_ready_once_its_pipeline_runs_logs_json_and_on_SIGTERM_commits_exactly_what_it_wrote()
    {
        using var cluster = new MockKafkaCluster(brokers: 1);
        cluster.CreateTopic(Input, Partitions);
        cluster.CreateTopic(Output, Partitions);
        var specs = Directory.CreateDirectory(Path.Combine(_folder, "specs")).FullName;
        File.WriteAllText(Path.Combine(specs, "member.yaml"), $$"""
            name: member
            options: { batch_capacity: 200, flush_interval: 100ms }
            source:
              kind: kafka
              bootstrap: "{{cluster.BootstrapServers}}"
              topics: [{{Input}}]
              group: {{Group}}
              columns: { seq: int64, v: float64 }
              config: { auto.offset.reset: earliest }
            sinks:
              - { kind: kafka, bootstrap: "{{cluster.BootstrapServers}}", topic: {{Output}} }
            """);

        using var producer = new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers, LingerMs = 5 }).Build();
        var produced = 0;
        void Produce(int count)
        {
            // seq = 4 * offset + partition: each partition's offsets are 0, 1, 2, ... in seq order.
            for (var i = produced; i < produced + count; i++)
                producer.Produce(new TopicPartition(Input, i % Partitions), new Message<Null, string> { Value = JsonSerializer.Serialize(new { seq = i, v = i * 0.5 }) });
            produced += count;
            producer.Flush(TimeSpan.FromSeconds(10));
        }
        Produce(2000);

        // Port 0: the host binds a free port and logs it (a port chosen by the test and bound later by the host can be
        // taken in between by any other connection on a busy machine).
        _process = StreamMlProcess.Start("serve", new Dictionary<string, string>
        {
            ["STREAMML_SPECS"] = specs,
            ["STREAMML_PORT"] = "0",
            ["STREAMML_METRICS_PORT"] = "-1",
            ["STREAMML_LOG_FORMAT"] = "json",
            ["STREAMML_LOG_LEVEL"] = "Information",
            ["STREAMML_REGISTRY"] = Path.Combine(_folder, "models"),
        }, "serve");

        string? address = null;
        await Eventually.TrueAsync(() => _process.HasExited || (address = ListeningAddress(_process)) is not null, "serve to log its address",
            TimeSpan.FromSeconds(60));
        if (address is null) throw new InvalidOperationException($"serve exited with {_process.ExitCode}");
        using var channel = GrpcChannel.ForAddress(address);
        var health = new Health.HealthClient(channel);
        ServingStatus? pipelineWhenReady = null;
        await Eventually.TrueAsync(async () =>
        {
            if (_process.HasExited) throw new InvalidOperationException($"serve exited with {_process.ExitCode}");
            if (await StatusAsync(health, "") != ServingStatus.Serving) return false;
            pipelineWhenReady = await StatusAsync(health, "pipeline/member");
            return true;
        }, "the host to answer SERVING", TimeSpan.FromSeconds(60));
        Assert.Equal(ServingStatus.Serving, pipelineWhenReady); // ready means the spec's pipeline already runs

        await Eventually.TrueAsync(() => Owned(_process).Count == Partitions, "serve to own every input partition", TimeSpan.FromSeconds(30),
            () => string.Join(" | ", _process.Lines.TakeLast(3)));
        // The first 2,000 records reach the output before the stop, so the drain has something to commit (on a loaded
        // machine SIGTERM could otherwise arrive before the first batch, which proves nothing).
        await Eventually.TrueAsync(() => KafkaTestClient.EndOffsets(cluster.BootstrapServers, Output, Partitions).Values.Sum() >= 2000,
            "serve to write the first 2,000 records", TimeSpan.FromSeconds(60));
        // Records keep arriving while the host is told to stop, so the drain happens mid-stream.
        using var producing = new CancellationTokenSource();
        var background = Task.Run(async () =>
        {
            while (!producing.IsCancellationRequested)
            {
                Produce(200);
                await Task.Delay(20);
            }
        });
        await Eventually.TrueAsync(() => produced > 6000, "more records to be produced");
        _process.Terminate();
        Assert.True(await _process.WaitForExitAsync(TimeSpan.FromSeconds(30)), "serve did not exit within 30 s of SIGTERM");
        await producing.CancelAsync();
        await background;
        Assert.Equal(0, _process.ExitCode);

        // The committed checkpoint is exactly what reached the output topic: every record below it once or more, none
        // above it (a record past the checkpoint would be read again by the next member: a duplicate, never a loss).
        var committed = KafkaTestClient.Committed(cluster.BootstrapServers, Input, Group, Partitions);
        var expected = committed.Values.Sum();
        var written = KafkaTestClient.ReadAll(cluster.BootstrapServers, Output, (int)expected, TimeSpan.FromSeconds(30), keepReading: TimeSpan.FromSeconds(1))
            .Select(r => JsonDocument.Parse(r.Message.Value).RootElement.GetProperty("seq").GetInt64()).ToHashSet();
        output.WriteLine($"produced {produced}, committed {string.Join(", ", committed.OrderBy(c => c.Key).Select(c => $"[{c.Key}] {c.Value}"))}, written {written.Count}");
        Assert.True(expected >= 2000, $"only {expected} records were committed");
        for (var partition = 0; partition < Partitions; partition++)
        {
            var expectedSeqs = Enumerable.Range(0, (int)committed[partition]).Select(offset => 4L * offset + partition);
            var writtenSeqs = written.Where(seq => seq % Partitions == partition).Order();
            Assert.Equal(expectedSeqs, writtenSeqs);
        }

        // JSON logs: every line an object with the logger's fields, among them the host's own event 2001 and the
        // connector's revocation at the drain.
        var logs = _process.Lines.Where(l => l.Length > 0).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.All(logs, l => Assert.True(l.TryGetProperty("Timestamp", out _) && l.TryGetProperty("LogLevel", out _) && l.TryGetProperty("Category", out _)
            && l.TryGetProperty("Message", out _) && l.TryGetProperty("EventId", out _)));
        Assert.Contains(logs, l => l.GetProperty("EventId").GetInt32() == 2001);
        Assert.Contains(logs, l => l.GetProperty("Message").GetString()!.Contains($"kafka source {Input}: revoked", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_health_command_exits_0_only_while_the_host_serves()
    {
        var port = FreePort();
        var address = $"http://127.0.0.1:{port}";
        Assert.Equal(ExitCodes.Unavailable, await CliApp.RunAsync(["health", "--address", address, "--timeout", "2"], TextWriter.Null, TextWriter.Null));
        await using var server = await StreamMlServer.StartAsync(new StreamMlOptions
        {
            Port = port, MetricsPort = -1, RegistryPath = Path.Combine(_folder, "models"),
        });
        // A generous timeout: the first call of a process on a loaded machine JITs the whole client.
        var text = new StringWriter();
        var error = new StringWriter();
        Assert.True(await CliApp.RunAsync(["health", "--address", address, "--timeout", "30"], text, error) == ExitCodes.Ok, error.ToString());
        Assert.Equal("host: Serving", text.ToString().Trim());
        Assert.Equal(ExitCodes.NotFound, await CliApp.RunAsync(["health", "--address", address, "--service", "pipeline/none", "--timeout", "30"], TextWriter.Null, error));
        Assert.Contains("unknown service 'pipeline/none'", error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("STREAMML_LOG_FORMAT", "xml", "STREAMML_LOG_FORMAT is 'xml': use simple or json")]
    [InlineData("STREAMML_LOG_LEVEL", "loud", "STREAMML_LOG_LEVEL is 'loud': use Trace, Debug, Information, Warning, Error, Critical or None")]
    [InlineData("STREAMML_PORT", "fifty", "STREAMML_PORT is 'fifty': not a number")]
    public async Task Serve_refuses_an_unusable_environment_variable_naming_it(string variable, string value, string message)
    {
        _process = StreamMlProcess.Start("serve", new Dictionary<string, string> { [variable] = value, ["STREAMML_PORT"] = variable == "STREAMML_PORT" ? value : "0" }, "serve");
        Assert.True(await _process.WaitForExitAsync(TimeSpan.FromSeconds(60)), "serve did not exit");
        Assert.Equal(ExitCodes.Usage, _process.ExitCode);
        Assert.Contains(_process.Lines, l => l == $"error: {message}");
    }

    private static async Task<ServingStatus?> StatusAsync(Health.HealthClient health, string service)
    {
        try
        {
            return (await health.CheckAsync(new HealthCheckRequest { Service = service }, deadline: DateTime.UtcNow.AddSeconds(5))).Status;
        }
        catch (RpcException)
        {
            return null; // not listening yet, or the pipeline does not exist yet
        }
    }

    private static HashSet<string> Owned(StreamMlProcess process) =>
        process.Lines.Select(l => l.Contains("\"Message\"", StringComparison.Ordinal) ? JsonDocument.Parse(l).RootElement.GetProperty("Message").GetString()! : "")
            .Aggregate(new HashSet<string>(), (owned, message) =>
            {
                var at = message.IndexOf($"kafka source {Input}: ", StringComparison.Ordinal);
                if (at < 0) return owned;
                var rest = message[(at + $"kafka source {Input}: ".Length)..];
                var space = rest.IndexOf(' ', StringComparison.Ordinal);
                if (space < 0) return owned;
                var partitions = rest[(space + 1)..].Split(", ", StringSplitOptions.RemoveEmptyEntries);
                if (rest.StartsWith("assigned", StringComparison.Ordinal)) owned.UnionWith(partitions);
                else owned.ExceptWith(partitions);
                return owned;
            });

    /// <summary>The address of the host's "gRPC host listening on" JSON log line (event 2001), once it is written.</summary>
    private static string? ListeningAddress(StreamMlProcess process) =>
        process.Lines.Where(l => l.Contains("gRPC host listening on ", StringComparison.Ordinal))
            .Select(l => JsonDocument.Parse(l).RootElement)
            .Where(l => l.GetProperty("EventId").GetInt32() == 2001)
            .Select(l => l.GetProperty("Message").GetString()!["gRPC host listening on ".Length..].Split(' ')[0])
            .FirstOrDefault();

    private static int FreePort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }
}

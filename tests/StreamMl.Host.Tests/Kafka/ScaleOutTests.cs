using System.Globalization;
using System.Text.Json;
using Confluent.Kafka;
using StreamMl.Connectors.Tests.Kafka;
using Xunit.Abstractions;

namespace StreamMl.Host.Tests.Kafka;

/// <summary>Scale-out across real processes: two <c>streamml run</c> processes in one consumer group split the
/// partitions of a topic; when one is stopped (SIGTERM) or killed (SIGKILL) the other takes its partitions over, and
/// every input record reaches the output topic at least once.</summary>
public sealed class ScaleOutTests(ITestOutputHelper output) : IDisposable
{
    private const string Input = "scale-in";
    private const string Output = "scale-out";
    private const int Partitions = 4;
    private readonly string _folder = Directory.CreateTempSubdirectory("streamml-scale-").FullName;
    private readonly List<StreamMlProcess> _processes = [];

    public void Dispose()
    {
        foreach (var process in _processes)
        {
            output.WriteLine($"--- {process.Name} (pid {process.Id}) ---");
            foreach (var line in process.Lines.Where(l => !l.Contains(": running ", StringComparison.Ordinal))) output.WriteLine(line);
            process.Dispose();
        }
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task Two_streamml_processes_split_the_partitions_and_the_survivor_takes_over_after_a_stop_and_after_a_kill()
    {
        using var cluster = new MockKafkaCluster();
        cluster.CreateTopic(Input, Partitions);
        cluster.CreateTopic(Output, Partitions);
        var spec = Path.Combine(_folder, "member.yaml");
        File.WriteAllText(spec, $$"""
            name: member
            options: { batch_capacity: 200, flush_interval: 100ms }
            source:
              kind: kafka
              bootstrap: "{{cluster.BootstrapServers}}"
              topics: [{{Input}}]
              group: scale
              columns: { seq: int64, v: float64 }
              key_column: key
              config: { session.timeout.ms: "6000", heartbeat.interval.ms: "500" }
            sinks:
              - kind: kafka
                bootstrap: "{{cluster.BootstrapServers}}"
                topic: {{Output}}
                key_column: key
            """);

        using var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers, LingerMs = 5 }).Build();
        var produced = 0;
        void Produce(int count)
        {
            for (var i = produced; i < produced + count; i++)
                producer.Produce(new TopicPartition(Input, i % Partitions),
                    new Message<string, string> { Key = $"k{i}", Value = JsonSerializer.Serialize(new { seq = i, v = i * 0.5 }) });
            produced += count;
            producer.Flush(TimeSpan.FromSeconds(10));
        }
        using var producing = new CancellationTokenSource();
        Produce(2000);
        // Records keep arriving for the whole test, so every change of ownership happens mid-stream.
        var background = Task.Run(async () =>
        {
            while (!producing.IsCancellationRequested)
            {
                Produce(50);
                await Task.Delay(100);
            }
        });

        var a = Start("a", spec);
        var b = Start("b", spec);
        await WaitUntilAsync(() => Splits(a, b), TimeSpan.FromSeconds(40), "both processes to own partitions and write rows", a, b);
        output.WriteLine($"a owns {string.Join(",", a.Owned.Order())}; b owns {string.Join(",", b.Owned.Order())}");

        // SIGTERM: a drains, commits and leaves the group; b gets every partition.
        var stopping = System.Diagnostics.Stopwatch.StartNew();
        a.Terminate();
        Assert.True(await a.WaitForExitAsync(TimeSpan.FromSeconds(20)), "a did not exit within 20 s of SIGTERM");
        output.WriteLine($"a stopped {stopping.Elapsed.TotalSeconds:F1} s after SIGTERM");
        Assert.Equal(130, a.ExitCode); // interrupted ...
        Assert.Contains(a.Lines, l => l.StartsWith("member: stopped", StringComparison.Ordinal)); // ... after a complete drain (its summary)
        Assert.Contains(a.Lines, l => l.Contains("kafka source scale-in: revoked", StringComparison.Ordinal));
        await WaitUntilAsync(() => b.Owned.Count == Partitions, TimeSpan.FromSeconds(30), "b to own every partition", b);

        // A new member joins (and writes rows); then b is killed outright and the newcomer takes over after the session timeout.
        var c = Start("c", spec);
        await WaitUntilAsync(() => Splits(b, c), TimeSpan.FromSeconds(40), "b and c to split the partitions", b, c);
        b.Kill();
        Assert.True(await b.WaitForExitAsync(TimeSpan.FromSeconds(10)), "b did not die");
        await WaitUntilAsync(() => c.Owned.Count == Partitions, TimeSpan.FromSeconds(30), "c to own every partition after b was killed", c);

        await producing.CancelAsync();
        await background;
        var (seqs, total) = await ReadOutputAsync(cluster.BootstrapServers, produced, TimeSpan.FromSeconds(40));
        c.Terminate();
        Assert.True(await c.WaitForExitAsync(TimeSpan.FromSeconds(20)), "c did not exit within 20 s of SIGTERM");
        Assert.Contains(c.Lines, l => l.StartsWith("member: stopped", StringComparison.Ordinal));

        var missing = Enumerable.Range(0, produced).Where(i => !seqs.Contains(i)).ToList();
        output.WriteLine($"{produced} records produced, {seqs.Count} distinct in the output ({total} messages: {total - seqs.Count} duplicates), missing {missing.Count}");
        Assert.Empty(missing);
        // After c's clean stop the group's committed offsets are the ends of the input partitions: nothing is left to re-read.
        Assert.Equal(produced, KafkaTestClient.Committed(cluster.BootstrapServers, Input, "scale", Partitions).Values.Sum());
    }

    private StreamMlProcess Start(string name, string spec)
    {
        var process = StreamMlProcess.Start(name, "run", spec, "--plain", "--interval", "00:00:01");
        _processes.Add(process);
        return process;
    }

    private static bool Splits(StreamMlProcess first, StreamMlProcess second)
    {
        var one = first.Owned;
        var two = second.Owned;
        return first.Written > 0 && second.Written > 0 && one.Count > 0 && two.Count > 0 && one.Count + two.Count == Partitions && !one.Overlaps(two);
    }

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, string what, params StreamMlProcess[] processes)
    {
        var until = DateTime.UtcNow + timeout;
        while (!condition())
        {
            foreach (var process in processes)
                if (process.HasExited) throw new InvalidOperationException($"{process.Name} exited with {process.ExitCode} while waiting for {what}");
            if (DateTime.UtcNow > until) throw new TimeoutException($"waited {timeout} for {what}");
            await Task.Delay(50);
        }
    }

    private static async Task<(HashSet<int> Seqs, int Total)> ReadOutputAsync(string bootstrap, int expected, TimeSpan timeout)
    {
        using var consumer = new ConsumerBuilder<Ignore, string>(new ConsumerConfig
        {
            BootstrapServers = bootstrap, GroupId = "reader", AutoOffsetReset = AutoOffsetReset.Earliest, EnableAutoCommit = false,
        }).Build();
        consumer.Assign(Enumerable.Range(0, Partitions).Select(p => new TopicPartitionOffset(Output, p, Offset.Beginning)));
        var seqs = new HashSet<int>();
        var total = 0;
        var until = DateTime.UtcNow + timeout;
        await Task.Yield();
        while (seqs.Count < expected && DateTime.UtcNow < until)
        {
            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result is null) continue;
            using var doc = JsonDocument.Parse(result.Message.Value);
            seqs.Add(checked((int)doc.RootElement.GetProperty("seq").GetInt64()));
            total++;
        }
        return (seqs, total);
    }
}

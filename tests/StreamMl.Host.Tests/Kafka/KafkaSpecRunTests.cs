using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using StreamMl.Connectors.Tests.Kafka;
using StreamMl.Host.Cli;
using Xunit.Abstractions;

namespace StreamMl.Host.Tests.Kafka;

/// <summary><c>streamml run</c> of a Kafka spec: the spec's dead-letter topic receives undecodable messages with their
/// bytes and error, and the good ones reach the output topic.</summary>
public sealed class KafkaSpecRunTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("streamml-kafka-run-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task A_spec_with_a_dead_letter_topic_sends_undecodable_messages_there_and_the_rest_to_the_output()
    {
        using var cluster = new MockKafkaCluster();
        cluster.CreateTopic("readings", 2);
        using (var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers }).Build())
        {
            for (var i = 0; i < 50; i++)
            {
                var value = i % 10 == 7 ? "{\"id\": " + i + ", \"temp\": \"warm\"}" : JsonSerializer.Serialize(new { id = i, temp = i * 0.5 });
                producer.Produce("readings", new Message<string, string> { Key = $"k{i}", Value = value });
            }
            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(10)));
        }
        var spec = Path.Combine(_folder, "dlq.yaml");
        File.WriteAllText(spec, $$"""
            name: dlq
            options: { flush_interval: 100ms }
            source:
              kind: kafka
              bootstrap: "{{cluster.BootstrapServers}}"
              topics: [readings]
              group: dlq
              columns: { id: int64, temp: float32 }
              key_column: key
              dead_letter_topic: readings.dlq
            sinks:
              - kind: kafka
                bootstrap: "{{cluster.BootstrapServers}}"
                topic: scored
                key_column: key
            """);
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await CliApp.RunAsync(["run", spec, "--plain", "--duration", "00:00:08"], stdout, stderr);
        output.WriteLine(stdout.ToString());
        output.WriteLine(stderr.ToString());
        Assert.Equal(ExitCodes.Ok, code);

        var dead = Read(cluster.BootstrapServers, "readings.dlq", 5);
        Assert.Equal(["k17", "k27", "k37", "k47", "k7"], dead.Select(m => m.Key).Order(StringComparer.Ordinal));
        Assert.All(dead, m => Assert.Contains("\"warm\"", m.Value, StringComparison.Ordinal));
        Assert.All(dead, m => Assert.Contains("temp", m.Error, StringComparison.Ordinal));
        var scored = Read(cluster.BootstrapServers, "scored", 45);
        Assert.Equal(45, scored.Select(m => m.Key).Distinct().Count());
        Assert.Contains("dead letters: 5", stdout.ToString(), StringComparison.Ordinal);
    }

    private static List<(string Key, string Value, string Error)> Read(string bootstrap, string topic, int count)
    {
        using var consumer = new ConsumerBuilder<string, string>(new ConsumerConfig
        {
            BootstrapServers = bootstrap, GroupId = "reader-" + topic, AutoOffsetReset = AutoOffsetReset.Earliest, EnableAutoCommit = false,
        }).Build();
        consumer.Subscribe(topic);
        var messages = new List<(string, string, string)>();
        var until = DateTime.UtcNow.AddSeconds(30);
        while (messages.Count < count && DateTime.UtcNow < until)
        {
            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result is null) continue;
            var error = result.Message.Headers.TryGetLastBytes("streamml.error", out var bytes) ? Encoding.UTF8.GetString(bytes) : "";
            messages.Add((result.Message.Key, result.Message.Value, error));
        }
        consumer.Close();
        return messages;
    }
}

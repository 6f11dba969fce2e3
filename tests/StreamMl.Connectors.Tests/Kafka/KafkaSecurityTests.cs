using StreamMl.Connectors.Tests.Delivery;
using StreamMl.Engine;
using Xunit.Abstractions;

namespace StreamMl.Connectors.Tests.Kafka;

public sealed class KafkaSecurityTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Sasl_password_from_the_environment_is_used_by_librdkafka_but_never_logged_even_at_debug_level()
    {
        using var cluster = new KafkaMockCluster();
        const string variable = "STREAMML_TEST_KAFKA_PASSWORD";
        const string password = "kafka-Pw-31415926";
        Environment.SetEnvironmentVariable(variable, password);
        var logs = new LogCapture();
        var options = new KafkaSourceOptions
        {
            BootstrapServers = cluster.BootstrapServers,
            Topics = ["secure"],
            GroupId = "secure",
            Schema = new Schema(new Field("x", ColumnType.Int64)),
            Security = new KafkaSecurityOptions
            {
                Protocol = Confluent.Kafka.SecurityProtocol.SaslPlaintext,
                SaslMechanism = Confluent.Kafka.SaslMechanism.Plain,
                SaslUsername = "reader",
                SaslPassword = Secret.FromEnvironment(variable),
            },
            // librdkafka's most verbose contexts, including its configuration dump.
            Config = { ["debug"] = "security,broker,protocol,conf,generic" },
            LoggerFactory = logs,
        };
        var source = new KafkaSource(options);
        await source.OpenAsync(new SourceContext("secure", new CollectingDeadLetterSink()), default);
        using (var batch = new ColumnBatch(source.Schema, 16))
        {
            for (var i = 0; i < 15; i++)
            {
                batch.Reset();
                await source.FillAsync(batch, default);
            }
        }
        await source.DisposeAsync();

        output.WriteLine($"{logs.Lines.Count} log lines");
        foreach (var line in logs.Lines.Where(l => l.Contains("sasl", StringComparison.OrdinalIgnoreCase)).Take(10)) output.WriteLine(line);
        // librdkafka did use SASL PLAIN with the configured user (so the settings reached it) ...
        Assert.Contains(logs.Lines, l => l.Contains("PLAIN", StringComparison.Ordinal));
        // ... and the password is nowhere in what was logged, nor in the secret's own text.
        Assert.DoesNotContain(password, logs.All);
        Assert.DoesNotContain(password, options.Security.SaslPassword.ToString());
    }

    [Fact]
    public void Sasl_without_credentials_is_refused_with_a_message_naming_what_is_missing()
    {
        var source = new KafkaSource(new KafkaSourceOptions
        {
            BootstrapServers = "127.0.0.1:1",
            Topics = ["t"],
            GroupId = "g",
            Schema = new Schema(new Field("x", ColumnType.Int64)),
            Security = new KafkaSecurityOptions { Protocol = Confluent.Kafka.SecurityProtocol.SaslSsl },
        });
        var error = Assert.Throws<ConnectorConfigurationException>(() => source.OpenAsync(new SourceContext("p", new CollectingDeadLetterSink()), default).AsTask().GetAwaiter().GetResult());
        Assert.Contains("SaslUsername", error.Message);
    }

    [Fact]
    public void A_secret_reference_must_name_an_environment_variable_or_file()
    {
        Assert.Throws<ConnectorConfigurationException>(() => Secret.Parse("hunter2"));
        var path = Path.GetTempFileName();
        File.WriteAllText(path, "from-file\n");
        try
        {
            Assert.Equal("from-file", Secret.Parse("file:" + path).Reveal());
            Environment.SetEnvironmentVariable("STREAMML_TEST_SECRET_REF", "from-env");
            Assert.Equal("from-env", Secret.Parse("env:STREAMML_TEST_SECRET_REF").Reveal());
            var missing = Assert.Throws<ConnectorConfigurationException>(() => Secret.Parse("env:STREAMML_TEST_NOT_SET_ANYWHERE").Reveal());
            Assert.Contains("STREAMML_TEST_NOT_SET_ANYWHERE", missing.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }
}

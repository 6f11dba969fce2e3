using System.Text.Json;
using Confluent.Kafka;
using StreamMl.Connectors.Tests.Kafka;
using StreamMl.Host.Cli;
using StreamMl.Host.Models;
using StreamMl.Host.Specs;
using Xunit.Abstractions;

namespace StreamMl.Host.Tests.Specs;

/// <summary>Connector security in specs: Kafka SASL/TLS and dead-letter topic, MQTT TLS and credentials, PostgreSQL SSL.
/// Secrets are references to environment variables or files; a missing one is a validate error at its line and column,
/// a literal one is refused, and no value reaches the output or logs of <c>streamml</c>.</summary>
public sealed class ConnectorSecuritySpecTests(ITestOutputHelper output) : IDisposable
{
    private static readonly SpecCompiler s_compiler = new(ComponentRegistry.CreateDefault(), new ModelCatalog());
    private readonly string _folder = Directory.CreateTempSubdirectory("streamml-secure-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void Kafka_sasl_and_tls_a_dead_letter_topic_mqtt_credentials_and_postgres_ssl_validate()
    {
        Environment.SetEnvironmentVariable("STREAMML_TEST_SPEC_KAFKA_PASSWORD", "kafka-secret");
        var keyPassword = Write("key-password", "pem-secret\n");
        var mqttPassword = Write("mqtt-password", "mqtt-secret\n");
        var kafka = $$"""
            name: secure-kafka
            source:
              kind: kafka
              bootstrap: "broker:9093"
              topics: [telemetry]
              group: scoring
              columns: { temp: float32 }
              dead_letter_topic: telemetry.dlq
              security:
                protocol: sasl_ssl
                sasl_mechanism: scram-sha-512
                username: reader
                password: env:STREAMML_TEST_SPEC_KAFKA_PASSWORD
                ca: /etc/kafka/ca.pem
              config: { session.timeout.ms: "10000" }
            sinks:
              - kind: kafka
                bootstrap: "broker:9093"
                topic: scores
                security: { protocol: ssl, ca: /etc/kafka/ca.pem, certificate: /etc/kafka/client.pem, key: /etc/kafka/client.key,
                            key_password: "file:{{keyPassword}}", verify_certificate: false }
            """;
        Assert.Empty(ValidateCommand.Validate(s_compiler, kafka, null));

        var mqtt = $$"""
            name: secure-mqtt
            source:
              kind: mqtt
              host: broker
              port: 8883
              topics: [sensors/+/telemetry]
              columns: { temp: float32 }
              security: { tls: true, ca: /etc/mosquitto/ca.pem, username: plant-7, password: "file:{{mqttPassword}}" }
            sinks:
              - kind: postgres
                connection: "Host=db;Database=plant;Username=writer"
                password: env:STREAMML_TEST_SPEC_KAFKA_PASSWORD
                ssl_mode: verify-full
                root_certificate: /etc/postgres/ca.pem
                table: readings
            """;
        Assert.Empty(ValidateCommand.Validate(s_compiler, mqtt, null));
    }

    [Fact]
    public async Task A_missing_secret_is_a_validate_error_at_its_line_and_column_naming_the_variable_or_file()
    {
        var spec = Write("missing.yaml", """
            name: missing
            source:
              kind: kafka
              bootstrap: "broker:9093"
              topics: [t]
              group: g
              columns: { x: int64 }
              security: { protocol: sasl_ssl, sasl_mechanism: plain, username: u, password: env:STREAMML_TEST_NEVER_SET_4711 }
            sinks:
              - kind: postgres
                connection: "Host=db;Database=plant;Username=writer"
                password: file:/nonexistent/streamml/pg-password
                table: readings
            """);
        var error = new StringWriter();
        var code = await CliApp.RunAsync(["validate", spec], new StringWriter(), error);
        output.WriteLine(error.ToString());

        Assert.Equal(ExitCodes.InvalidSpec, code);
        var lines = File.ReadAllLines(spec);
        var envColumn = lines[7].IndexOf("env:", StringComparison.Ordinal) + 1;
        Assert.Contains($"{spec}:8:{envColumn}: error: 'source.security.password': environment variable STREAMML_TEST_NEVER_SET_4711 holding a secret is not set",
            error.ToString());
        var fileColumn = lines[11].IndexOf("file:", StringComparison.Ordinal) + 1;
        Assert.Contains($"{spec}:12:{fileColumn}: error: 'sinks[0].password': cannot read the secret file /nonexistent/streamml/pg-password", error.ToString());
    }

    [Fact]
    public void Secrets_written_into_the_spec_are_refused_without_repeating_them()
    {
        const string spec = """
            name: literal
            source:
              kind: kafka
              bootstrap: "broker:9093"
              topics: [t]
              group: g
              columns: { x: int64 }
              security: { protocol: sasl_plaintext, username: u, password: hunter2-kafka }
              config: { sasl.password: hunter2-config }
            sinks:
              - kind: postgres
                connection: "Host=db;Database=plant;Username=writer;Password=hunter2-pg"
                table: readings
            """;
        var errors = ValidateCommand.Validate(s_compiler, spec, null);
        foreach (var e in errors) output.WriteLine($"{e.Line}:{e.Column}: {e.Message}");
        Assert.Contains(errors, e => e.Line == 8 && e.Message.Contains("env:VARIABLE", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Line == 9 && e.Message.Contains("'source.config.sasl.password' may hold a secret", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Line == 12 && e.Message.Contains("'connection' contains a password", StringComparison.Ordinal));
        Assert.DoesNotContain(errors, e => e.Message.Contains("hunter2", StringComparison.Ordinal));

        // A connection string Npgsql cannot read is reported without its values either.
        var unreadable = ValidateCommand.Validate(s_compiler, spec.Replace("Username=writer;", "Username=writer;Port=not-a-port;", StringComparison.Ordinal), null);
        foreach (var e in unreadable) output.WriteLine($"{e.Line}:{e.Column}: {e.Message}");
        Assert.Contains(unreadable, e => e.Line == 12 && e.Message.Contains("not a valid PostgreSQL connection string", StringComparison.Ordinal));
        Assert.DoesNotContain(unreadable, e => e.Message.Contains("hunter2", StringComparison.Ordinal));
    }

    [Fact]
    public void Unknown_security_keys_and_sasl_without_credentials_are_errors()
    {
        const string spec = """
            name: incomplete
            source:
              kind: kafka
              bootstrap: "broker:9093"
              topics: [t]
              group: g
              columns: { x: int64 }
              security: { protocol: sasl_ssl, passwd: env:X }
            sinks:
              - kind: memory
            """;
        var errors = ValidateCommand.Validate(s_compiler, spec, null);
        foreach (var e in errors) output.WriteLine($"{e.Line}:{e.Column}: {e.Message}");
        Assert.Contains(errors, e => e.Line == 8 && e.Message.Contains("SASL needs 'username' and 'password'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Line == 8 && e.Message.Contains("unknown key 'passwd'", StringComparison.Ordinal));
    }

    [Fact]
    public void Librdkafka_settings_that_delivery_depends_on_cannot_be_overridden_in_config()
    {
        const string spec = """
            name: unsafe
            source:
              kind: kafka
              bootstrap: "broker:9093"
              topics: [t]
              group: g
              columns: { x: int64 }
              config: { enable.auto.commit: "true", fetch.min.bytes: "1" }
            sinks:
              - kind: kafka
                bootstrap: "broker:9093"
                topic: out
                config: { acks: "1" }
            """;
        var errors = ValidateCommand.Validate(s_compiler, spec, null);
        foreach (var e in errors) output.WriteLine($"{e.Line}:{e.Column}: {e.Message}");
        Assert.Equal(2, errors.Count);
        Assert.Contains(errors, e => e.Line == 8 && e.Message.Contains("'source.config.enable.auto.commit' is set by StreamMl for at-least-once delivery", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Line == 13 && e.Message.Contains(".config.acks' is set by StreamMl", StringComparison.Ordinal));
    }

    /// <summary>A Kafka pipeline with SASL PLAIN, its password in an environment variable, run by <c>streamml run</c> with
    /// librdkafka's most verbose debug contexts: the password reaches librdkafka, and no line the command writes holds it.
    /// librdkafka's mock cluster has no SASL handshake, so every connection fails authentication, which is where a client
    /// library would print credentials if it ever did, dozens of times over the run.</summary>
    [Fact]
    public async Task Streamml_run_with_sasl_from_the_environment_never_writes_the_password_even_at_debug_level()
    {
        const string password = "sasl-Pw-27182818";
        Environment.SetEnvironmentVariable("STREAMML_TEST_RUN_KAFKA_PASSWORD", password);
        using var cluster = new MockKafkaCluster();
        using (var producer = new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers }).Build())
        {
            for (var i = 0; i < 100; i++) producer.Produce("secure-in", new Message<Null, string> { Value = JsonSerializer.Serialize(new { x = i }) });
            producer.Flush(TimeSpan.FromSeconds(10));
        }
        var spec = Write("secure.yaml", $$"""
            name: secure
            source:
              kind: kafka
              bootstrap: "{{cluster.BootstrapServers}}"
              topics: [secure-in]
              group: secure
              columns: { x: int64 }
              dead_letter_topic: secure-in.dlq
              security: { protocol: sasl_plaintext, sasl_mechanism: plain, username: reader, password: env:STREAMML_TEST_RUN_KAFKA_PASSWORD }
              config: { debug: "security,broker,protocol,conf,generic" }
            sinks:
              - kind: kafka
                bootstrap: "{{cluster.BootstrapServers}}"
                topic: secure-out
                security: { protocol: sasl_plaintext, sasl_mechanism: plain, username: writer, password: env:STREAMML_TEST_RUN_KAFKA_PASSWORD }
                config: { debug: "security,broker,conf" }
            """);
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await CliApp.RunAsync(["run", spec, "--plain", "--duration", "00:00:06", "--log-level", "Debug"], stdout, stderr);

        var all = stdout + "\n" + stderr;
        output.WriteLine($"exit {code}; {all.Split('\n').Length} lines");
        foreach (var line in all.Split('\n').Where(l => l.Contains("SASL", StringComparison.OrdinalIgnoreCase)).Take(8)) output.WriteLine(line);
        Assert.Equal(ExitCodes.Ok, code);
        // librdkafka chose SASL PLAIN (it refuses to start PLAIN without sasl.password), dumped its configuration with the
        // password property and tried to authenticate ...
        Assert.Contains("Selected provider PLAIN", all, StringComparison.Ordinal);
        Assert.Contains("sasl.password", all, StringComparison.Ordinal);
        Assert.Contains("Failed to initialize SASL authentication", all, StringComparison.Ordinal);
        // ... and the password is in no line the command wrote.
        Assert.DoesNotContain(password, all, StringComparison.Ordinal);
    }
}

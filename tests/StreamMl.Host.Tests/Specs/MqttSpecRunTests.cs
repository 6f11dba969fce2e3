using System.Text.Json;
using StreamMl.Connectors.Tests.Mqtt;
using StreamMl.Host.Cli;
using Xunit.Abstractions;

namespace StreamMl.Host.Tests.Specs;

/// <summary><c>streamml run</c> of an MQTT spec whose credentials come from the spec's <c>security</c> (password in an
/// environment variable), against a mosquitto that refuses anonymous clients.</summary>
public sealed class MqttSpecRunTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("streamml-mqtt-run-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [SkippableFact]
    public async Task Mqtt_credentials_from_the_spec_authenticate_and_the_password_is_in_no_line_streamml_writes()
    {
        PrivateBroker.RequireMosquitto();
        const string password = "mqtt-Pw-16180339";
        Environment.SetEnvironmentVariable("STREAMML_TEST_RUN_MQTT_PASSWORD", password);
        using var broker = PrivateBroker.Start("plant-reader", password);
        var spec = Path.Combine(_folder, "mqtt.yaml");
        File.WriteAllText(spec, $$"""
            name: mqtt-secure
            options: { flush_interval: 100ms }
            source:
              kind: mqtt
              host: 127.0.0.1
              port: {{broker.Port}}
              topics: [sensors/+/telemetry]
              client_id: spec-run-{{Guid.NewGuid():N}}
              columns: { seq: int64, temp: float32 }
              device_column: device
              security: { username: plant-reader, password: env:STREAMML_TEST_RUN_MQTT_PASSWORD }
            sinks:
              - kind: memory
            """);
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var run = CliApp.RunAsync(["run", spec, "--plain", "--duration", "00:00:06", "--log-level", "Debug"], stdout, stderr);
        var until = DateTime.UtcNow.AddSeconds(20);
        while (!Text(stderr).Contains("subscribed to sensors/+/telemetry", StringComparison.Ordinal) && !run.IsCompleted && DateTime.UtcNow < until)
            await Task.Delay(50);
        await MqttTestClient.PublishAsync("127.0.0.1", broker.Port,
            Enumerable.Range(0, 30).Select(i => ($"sensors/d{i % 3}/telemetry", JsonSerializer.Serialize(new { seq = i, temp = 20 + i * 0.5f }))),
            "plant-reader", password);
        var code = await run;

        var all = Text(stdout) + "\n" + Text(stderr);
        output.WriteLine(all);
        Assert.Equal(ExitCodes.Ok, code);
        Assert.Contains("rows=30 ", all, StringComparison.Ordinal);
        Assert.DoesNotContain(password, all, StringComparison.Ordinal);
    }

    private static string Text(StringWriter writer)
    {
        lock (writer) return writer.ToString();
    }
}

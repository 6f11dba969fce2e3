using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StreamMl.Connectors.Tests.Delivery;
using StreamMl.Connectors.Tests.Mqtt;
using StreamMl.Host.Hosting;
using Xunit.Abstractions;

namespace StreamMl.Host.Tests.Hosting;

/// <summary>The README's embedding example, as code that must compile and run.</summary>
public sealed class EmbeddingTests(ITestOutputHelper output)
{
    [Fact]
    public async Task AddStreamMl_runs_a_pipeline_inside_a_generic_host()
    {
        // --- README example start ---
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Services.AddStreamMl(o => o.RegistryPath = "models"); // options and defaults: docs/host.md
        using var app = builder.Build();
        await app.StartAsync();

        var streamMl = app.Services.GetRequiredService<StreamMlRuntime>();
        await streamMl.CreatePipelineAsync("""
            name: sensors
            source: { kind: synthetic, rows: 100000, features: 2 }
            drift: { features: [f0, f1], reference_rows: 10000, window_rows: 10000 }
            sinks: [ { kind: memory } ]
            """);
        await streamMl.WaitForCompletionAsync("sensors");
        var status = streamMl.GetStatus("sensors");
        var drift = streamMl.GetDriftReport("sensors");
        Console.WriteLine($"{status.Stages[^1].RowsOut:N0} rows, drift: {drift.Status}");
        await app.StopAsync();
        // --- README example end ---

        Assert.Equal("completed", status.Info.State);
        Assert.Equal(100_000, status.Stages.Single(s => s.Name == "memory").RowsOut);
        Assert.Equal(9, drift.Windows.Count); // 90,000 rows after the reference, windows of 10,000
    }

    [Fact]
    public void Options_bind_from_the_StreamMl_configuration_section()
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["StreamMl:Port"] = "6000",
            ["StreamMl:ApiKeys:0:Name"] = "ops",
            ["StreamMl:ApiKeys:0:Hash"] = Convert.ToHexString(Auth.ApiKeyStore.HashKey("k")),
            ["StreamMl:ApiKeys:0:Role"] = "Score",
        });
        builder.Services.AddStreamMl(o => o.MaxScoreRows = 7);
        using var app = builder.Build();
        var options = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<StreamMlOptions>>().Value;
        Assert.Equal(6000, options.Port);
        Assert.Equal(7, options.MaxScoreRows);
        Assert.Equal("127.0.0.1", options.Address); // the documented default
        var key = Assert.Single(options.ApiKeys);
        Assert.Equal(Auth.ApiRole.Score, key.Role);
        var store = app.Services.GetRequiredService<Auth.ApiKeyStore>();
        Assert.Equal(("ops", Auth.ApiRole.Score), store.Find("k"));
        Assert.Null(store.Find("K"));
    }

    [SkippableFact]
    public async Task Connectors_of_hosted_pipelines_log_through_the_application_logging_without_secrets()
    {
        PrivateBroker.RequireMosquitto();
        const string password = "embedded-Pw-27182818";
        Environment.SetEnvironmentVariable("STREAMML_TEST_EMBEDDED_MQTT_PASSWORD", password);
        using var broker = PrivateBroker.Start("plant-reader", password);
        var logs = new LogCapture();
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders().AddProvider(logs).SetMinimumLevel(LogLevel.Debug);
        builder.Services.AddStreamMl();
        using var app = builder.Build();
        await app.StartAsync();

        var streamMl = app.Services.GetRequiredService<StreamMlRuntime>();
        await streamMl.CreatePipelineAsync($$"""
            name: plant
            source:
              kind: mqtt
              host: 127.0.0.1
              port: {{broker.Port}}
              topics: [sensors/+/telemetry]
              client_id: embedded-{{Guid.NewGuid():N}}
              columns: { seq: int64 }
              security: { username: plant-reader, password: env:STREAMML_TEST_EMBEDDED_MQTT_PASSWORD }
            sinks: [ { kind: memory } ]
            """);
        var until = DateTime.UtcNow.AddSeconds(20);
        while (!logs.Lines.Any(l => l.Contains("subscribed to sensors/+/telemetry", StringComparison.Ordinal)) && DateTime.UtcNow < until)
            await Task.Delay(50);
        await app.StopAsync();

        var all = logs.Lines;
        output.WriteLine(logs.All);
        Assert.Contains(all, l => l.Contains(" StreamMl.Connectors.Mqtt ", StringComparison.Ordinal) && l.Contains("connected as embedded-", StringComparison.Ordinal));
        Assert.DoesNotContain(all, l => l.Contains(password, StringComparison.Ordinal));
    }
}

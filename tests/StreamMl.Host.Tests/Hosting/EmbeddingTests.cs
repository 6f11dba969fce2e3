using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StreamMl.Host.Hosting;

namespace StreamMl.Host.Tests.Hosting;

/// <summary>The README's embedding example, as code that must compile and run.</summary>
public sealed class EmbeddingTests
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
}

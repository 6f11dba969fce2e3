using System.Globalization;
using System.Text.RegularExpressions;
using StreamMl.Host.Protos;

namespace StreamMl.Host.Tests.Grpc;

/// <summary>The Prometheus endpoint, read over plain HTTP/1.1 like Prometheus does.</summary>
[Collection(HostCollection.Name)]
public sealed class PrometheusTests(HostFixture host)
{
    [Fact]
    public async Task Metrics_expose_stage_counters_that_match_the_status_RPC()
    {
        await host.Control().CreatePipelineAsync(new CreatePipelineRequest { Spec = TestSpecs.Sensors("prom"), Replace = true, Start = true });
        using (var ingest = host.DataPlane().Ingest())
        {
            await ingest.RequestStream.WriteAsync(new IngestRequest { Pipeline = "prom", Rows = TestSpecs.ToRowSet(TestSpecs.Readings(1234, 9)) });
            await ingest.RequestStream.CompleteAsync();
            await ingest;
        }
        PipelineStatus status;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        do status = await host.Control().GetStatusAsync(new PipelineRef { Name = "prom" });
        while (status.Stages.Single(s => s.Name == "memory").RowsOut < 1234 && DateTime.UtcNow < deadline);

        using var http = new HttpClient();
        var text = await http.GetStringAsync($"{host.Server.MetricsAddress}/metrics");
        var match = Regex.Match(text, @"^streamml_stage_rows_out_total\{pipeline=""prom"",stage=""memory"",kind=""sink""\} (\S+)$", RegexOptions.Multiline);
        Assert.True(match.Success, text);
        Assert.Equal(1234, double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture));
        Assert.Matches(@"streamml_pipeline_state\{pipeline=""prom"",state=""running""\} 1", text);
        Assert.Contains("streamml_drift_psi", text);
    }
}

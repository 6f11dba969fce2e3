using System.Text.Json;
using Google.Protobuf;
using StreamMl.Host.Protos;
using StreamMl.Host.Tests.Grpc;

namespace StreamMl.Host.Tests.Node;

/// <summary>The .proto files work from a client StreamMl did not write: a Node.js script using @grpc/grpc-js and
/// @grpc/proto-loader (from npm) calls Score and GetDriftReport against the live host.</summary>
[Collection(HostCollection.Name)]
public sealed class NodeClientTests(HostFixture host)
{
    [Fact]
    public async Task A_Node_client_scores_rows_and_reads_the_drift_report()
    {
        var (node, clientFolder, root) = await NodeTool.PrepareAsync(Path.Combine("@grpc", "grpc-js"));

        await host.Control().CreatePipelineAsync(new CreatePipelineRequest { Spec = TestSpecs.Sensors("node"), Replace = true, Start = true });
        using (var ingest = host.DataPlane().Ingest())
        {
            await ingest.RequestStream.WriteAsync(new IngestRequest { Pipeline = "node", ArrowIpc = ByteString.CopyFrom(TestSpecs.ToArrow(TestSpecs.Readings(1000, 30))) });
            await ingest.RequestStream.CompleteAsync();
            await ingest;
        }
        DriftReport expected;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        do expected = await host.Query().GetDriftReportAsync(new DriftReportRequest { Pipeline = "node" });
        while (expected.Windows.Count < 3 && DateTime.UtcNow < deadline);

        var address = new Uri(host.Server.Address);
        var (code, output, error) = await NodeTool.RunAsync(node,
            [Path.Combine(clientFolder, "client.mjs"), $"{address.Host}:{address.Port}", HostFixture.ScoreKey, "node",
             Path.Combine(root, "host", "StreamMl.Host", "Protos")], clientFolder);
        Assert.True(code == 0, $"node exited {code}: {error}");

        using var json = JsonDocument.Parse(output);
        var scores = json.RootElement.GetProperty("score").GetProperty("scores");
        Assert.Equal("from-node", json.RootElement.GetProperty("score").GetProperty("requestId").GetString());
        Assert.Equal(2, scores.GetArrayLength());
        TestSpecs.AssertClose(TestSpecs.Reference(61.5, 0.9, 99), scores[0].GetProperty("score").GetDouble());
        TestSpecs.AssertClose(TestSpecs.Reference(79.0, 2.2, 101), scores[1].GetProperty("score").GetDouble());
        Assert.Equal("linear-a@1", scores[1].GetProperty("model").GetString());

        var drift = json.RootElement.GetProperty("drift");
        Assert.Equal(expected.Status, drift.GetProperty("status").GetString());
        Assert.Equal(expected.ReferenceRows, drift.GetProperty("referenceRows").GetInt64());
        Assert.Equal(expected.Windows.Count, drift.GetProperty("windows").GetArrayLength());
        var temperature = drift.GetProperty("features").EnumerateArray().Single(f => f.GetProperty("feature").GetString() == "temperature");
        Assert.Equal(expected.Features.Single(f => f.Feature == "temperature").Psi, temperature.GetProperty("psi").GetDouble(), 12);
        // grpc-js status code 16 is UNAUTHENTICATED: the call without metadata was refused.
        Assert.Equal(16, json.RootElement.GetProperty("deniedWithoutKey").GetInt32());
    }
}

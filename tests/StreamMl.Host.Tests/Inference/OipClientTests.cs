using System.Text.Json;
using StreamMl.Host.Protos;
using StreamMl.Host.Tests.Grpc;
using StreamMl.Host.Tests.Node;
using StreamMl.Testing;

namespace StreamMl.Host.Tests.Inference;

/// <summary>The Open Inference Protocol from clients StreamMl did not write, built only from the protocol: Python
/// (Debian's python3-grpcio, the .proto compiled by grpc_tools), Node (@grpc/grpc-js and @grpc/proto-loader from npm)
/// and curl on the HTTP/JSON routes. Each answer is compared with Score for the same rows.</summary>
[Collection(HostCollection.Name)]
public sealed class OipClientTests(HostFixture host)
{
    private static readonly TestSpecs.Reading[] s_rows = [new("d1", 61.5f, 0.9f, 99, false), new("d2", 79, 2.2f, 101, false)];

    private async Task<float[]> ScoreAsync(string pipeline)
    {
        await host.Control().CreatePipelineAsync(new CreatePipelineRequest { Spec = TestSpecs.Sensors(pipeline), Replace = true });
        var response = await host.DataPlane().ScoreAsync(new ScoreRequest { Pipeline = pipeline, Rows = TestSpecs.ToRowSet(s_rows) });
        return [.. response.Scores.Select(s => s.Score)];
    }

    private string GrpcTarget => $"{new Uri(host.Server.Address).Host}:{new Uri(host.Server.Address).Port}";

    private static float[] Floats(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetSingle())];

    [SkippableFact]
    public async Task A_Python_client_from_the_protocol_gets_the_scores_of_Score_typed_and_raw()
    {
        var root = await PythonTool.RequireAsync();
        var expected = await ScoreAsync("oip-python");
        var (code, output, error) = await NodeTool.RunAsync(PythonTool.Python,
            [Path.Combine(root, "tests", "python-client", "oip_client.py"), GrpcTarget, HostFixture.ScoreKey, "oip-python",
             Path.Combine(root, "host", "StreamMl.Host", "Protos")], root);
        Assert.True(code == 0, $"python exited {code}: {error}");
        using var json = JsonDocument.Parse(output);
        var r = json.RootElement;
        Assert.True(r.GetProperty("live").GetBoolean());
        Assert.True(r.GetProperty("ready").GetBoolean());
        Assert.Equal("from-python", r.GetProperty("id").GetString());
        Assert.Equal("1", r.GetProperty("version").GetString());
        Assert.Equal(expected, Floats(r.GetProperty("scores")));
        Assert.Equal(expected, Floats(r.GetProperty("raw_scores")));
        Assert.Equal(["linear-a@1", "linear-a@1"], r.GetProperty("models").EnumerateArray().Select(e => e.GetString()));
        Assert.Contains("temperature:FP32", r.GetProperty("inputs").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("INVALID_ARGUMENT", r.GetProperty("wrong_datatype").GetProperty("code").GetString());
        Assert.Contains("'temperature' is FP64", r.GetProperty("wrong_datatype").GetProperty("details").GetString());
        Assert.Equal("UNAUTHENTICATED", r.GetProperty("without_key").GetString());
    }

    [Fact]
    public async Task A_Node_client_from_the_protocol_gets_the_scores_of_Score()
    {
        var (node, clientFolder, root) = await NodeTool.PrepareAsync(Path.Combine("@grpc", "proto-loader"));
        var expected = await ScoreAsync("oip-node");
        var (code, output, error) = await NodeTool.RunAsync(node,
            [Path.Combine(clientFolder, "oip.mjs"), GrpcTarget, HostFixture.ScoreKey, "oip-node", Path.Combine(root, "host", "StreamMl.Host", "Protos")], clientFolder);
        Assert.True(code == 0, $"node exited {code}: {error}");
        using var json = JsonDocument.Parse(output);
        var r = json.RootElement;
        Assert.True(r.GetProperty("live").GetBoolean());
        Assert.Equal("from-node", r.GetProperty("id").GetString());
        Assert.Equal(expected, Floats(r.GetProperty("scores")));
        Assert.Equal(["linear-a@1", "linear-a@1"], r.GetProperty("models").EnumerateArray().Select(e => e.GetString()));
        // grpc-js status 3 is INVALID_ARGUMENT.
        Assert.Equal(3, r.GetProperty("shape_mismatch").GetProperty("code").GetInt32());
        Assert.Contains("shape [2]", r.GetProperty("shape_mismatch").GetProperty("details").GetString());
    }

    [SkippableFact]
    public async Task Curl_infers_over_HTTP_JSON_with_the_scores_of_Score()
    {
        Requirement.That(File.Exists("/usr/bin/curl"), "curl is missing: apt-get install curl");
        var expected = await ScoreAsync("oip-curl");
        var body = """
            {"id": "from-curl", "inputs": [
              {"name": "device", "datatype": "BYTES", "shape": [2], "data": ["d1", "d2"]},
              {"name": "temperature", "datatype": "FP32", "shape": [2], "data": [61.5, 79]},
              {"name": "vibration", "datatype": "FP32", "shape": [2], "data": [0.9, 2.2]},
              {"name": "pressure", "datatype": "FP32", "shape": [2], "data": [99, 101]}]}
            """;
        var (code, output, error) = await NodeTool.RunAsync("/usr/bin/curl",
            ["-s", "-H", $"x-api-key: {HostFixture.ScoreKey}", "-H", "content-type: application/json", "-d", body,
             $"{host.Server.HttpAddress}/v2/models/oip-curl/infer"], PythonTool.Root());
        Assert.True(code == 0, $"curl exited {code}: {error}");
        using var json = JsonDocument.Parse(output);
        var score = json.RootElement.GetProperty("outputs").EnumerateArray().Single(o => o.GetProperty("name").GetString() == "score");
        Assert.Equal(expected, Floats(score.GetProperty("data")));
        Assert.Equal("from-curl", json.RootElement.GetProperty("id").GetString());

        (code, output, _) = await NodeTool.RunAsync("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", $"{host.Server.HttpAddress}/v2/models/oip-curl/infer", "-d", body], PythonTool.Root());
        Assert.Equal("401", output);
        // The routes answer on the gRPC port too, over HTTP/2 without TLS (prior knowledge).
        (code, output, _) = await NodeTool.RunAsync("/usr/bin/curl", ["-s", "--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_code}", $"{host.Server.Address}/v2/health/live"], PythonTool.Root());
        Assert.Equal("200", output);
    }
}

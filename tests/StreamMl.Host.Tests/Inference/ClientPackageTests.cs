using System.Text.Json;
using StreamMl.Host.Protos;
using StreamMl.Host.Tests.Grpc;
using StreamMl.Host.Tests.Node;

namespace StreamMl.Host.Tests.Inference;

/// <summary>The client packages in clients/python and clients/node (issue 19 item 4) run their quickstart examples
/// against the live host: Score, ScoreStream, Ingest and Subscribe, scores checked against the double-precision
/// reference. The Python client (protobuf rows; Debian has no pyarrow) also ingests Arrow IPC bytes written by Node's
/// apache-arrow.</summary>
[Collection(HostCollection.Name)]
public sealed class ClientPackageTests(HostFixture host)
{
    private string Target => $"{new Uri(host.Server.Address).Host}:{new Uri(host.Server.Address).Port}";

    private async Task<string> StartAsync(string name)
    {
        await host.Control().CreatePipelineAsync(new CreatePipelineRequest { Spec = TestSpecs.Sensors(name), Replace = true, Start = true });
        return name;
    }

    private static void AssertScores(JsonElement scores, params (double T, double V, double P)[] rows)
    {
        Assert.Equal(rows.Length, scores.GetArrayLength());
        for (var i = 0; i < rows.Length; i++)
            TestSpecs.AssertClose(TestSpecs.Reference(rows[i].T, rows[i].V, rows[i].P), scores[i].ValueKind == JsonValueKind.Number ? scores[i].GetDouble() : scores[i].GetProperty("score").GetDouble());
    }

    /// <summary>The named outputs a client shows per row: probabilities P(0), P(1) and the label from the reference
    /// logistic score, and who answered (the inline model "linear-a", version 1, the primary).</summary>
    private static void AssertOutputs(JsonElement scores, string camelOrSnake, params (double T, double V, double P)[] rows)
    {
        string Name(string snake) => camelOrSnake == "camel" ? JsonNamingPolicy.CamelCase.ConvertName(string.Concat(snake.Split('_').Select(w => char.ToUpperInvariant(w[0]) + w[1..]))) : snake;
        Assert.Equal(rows.Length, scores.GetArrayLength());
        for (var i = 0; i < rows.Length; i++)
        {
            var p = TestSpecs.Reference(rows[i].T, rows[i].V, rows[i].P);
            var probabilities = scores[i].GetProperty("probabilities").EnumerateArray().Select(e => e.GetDouble()).ToList();
            Assert.Equal(2, probabilities.Count);
            TestSpecs.AssertClose(1 - p, probabilities[0]);
            TestSpecs.AssertClose(p, probabilities[1]);
            Assert.Equal(p >= 0.5 ? "1" : "0", scores[i].GetProperty("label").GetString());
            Assert.Equal(("linear-a", "1", "primary"), (scores[i].GetProperty(Name("model_name")).GetString(),
                scores[i].GetProperty(Name("model_version")).GetString(), scores[i].GetProperty("variant").GetString()));
        }
    }

    private static void AssertDescription(JsonElement description)
    {
        var model = Assert.Single(description.GetProperty("models").EnumerateArray());
        Assert.Equal(("linear-a", "1", "binary"), (model.GetProperty("name").GetString(), model.GetProperty("version").GetString(), model.GetProperty("task").GetString()));
        Assert.Equal(["0", "1"], model.GetProperty("classes").EnumerateArray().Select(c => c.GetString()));
        Assert.Contains("probabilities", description.GetProperty("outputs").EnumerateArray().Select(o => o.GetString()));
        Assert.Contains("temperature", description.GetProperty("inputs").EnumerateArray().Select(i => i.GetProperty("name").GetString()));
    }

    [Fact]
    public async Task The_Node_client_scores_streams_ingests_rows_and_Arrow_and_subscribes()
    {
        var (node, clientFolder, root) = await NodeTool.PrepareAsync("apache-arrow");
        var name = await StartAsync("client-node");
        var (code, output, error) = await RunNodeAsync(node, clientFolder, root, name, arrowFile: null);
        Assert.True(code == 0, $"node exited {code}: {error}");
        var r = JsonDocument.Parse(output).RootElement;
        AssertScores(r.GetProperty("score"), (61.5, 0.9, 99), (79, 2.2, 101));
        AssertOutputs(r.GetProperty("score"), "camel", (61.5, 0.9, 99), (79, 2.2, 101));
        AssertOutputs(r.GetProperty("scorePrimary"), "camel", (61.5, 0.9, 99));
        AssertDescription(r.GetProperty("describe"));
        AssertScores(r.GetProperty("scoreArrow"), (65, 1.0, 100), (90, 2.5, 98));
        AssertScores(r.GetProperty("scoreStream"), (61.5, 0.9, 99), (79, 2.2, 101));
        Assert.All(r.GetProperty("ingest").EnumerateArray(), i => Assert.Equal(4, i.GetProperty("rowsAccepted").GetInt64()));
        var seen = r.GetProperty("subscribed").EnumerateArray().ToList();
        Assert.Equal(["d1", "d2", "d4", "d5"], seen.Select(s => s.GetProperty("device").GetString()));
        TestSpecs.AssertClose(TestSpecs.Reference(90, 2.5, 98), seen[3].GetProperty("score").GetDouble());
        Assert.Equal([2L, 2L], r.GetProperty("acked").EnumerateArray().Select(a => a.GetProperty("rows").GetInt64()));
        Assert.Equal([1L, 2L], r.GetProperty("acked").EnumerateArray().Select(a => a.GetProperty("sequence").GetInt64()));
        Assert.All(r.GetProperty("ackedRetry").EnumerateArray(), a =>
        {
            Assert.True(a.GetProperty("duplicate").GetBoolean());
            Assert.Equal(0, a.GetProperty("rows").GetInt64());
            Assert.Equal(2, a.GetProperty("acceptedThrough").GetInt64());
        });
        Assert.Equal(3, r.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Contains("'temperature'", r.GetProperty("error").GetProperty("details").GetString());
    }

    [SkippableFact]
    public async Task The_Python_client_scores_streams_ingests_rows_and_Node_made_Arrow_and_subscribes()
    {
        var root = await PythonTool.RequireAsync();
        var (node, clientFolder, _) = await NodeTool.PrepareAsync("apache-arrow");
        var name = await StartAsync("client-python");
        var arrow = Path.Combine(Path.GetTempPath(), $"client-python-{Guid.NewGuid():N}.arrow");
        try
        {
            // Node's apache-arrow writes the Arrow IPC stream the Python client sends as bytes.
            var made = await RunNodeAsync(node, clientFolder, root, name, arrow);
            Assert.True(made.Code == 0, made.Error);
            await StartAsync("client-python"); // a fresh pipeline: the Node run ingested into it too
            var (code, output, error) = await NodeTool.RunAsync(PythonTool.Python,
                [Path.Combine(root, "clients", "python", "examples", "quickstart.py"), Target, HostFixture.ScoreKey, name, arrow], root);
            Assert.True(code == 0, $"python exited {code}: {error}");
            var r = JsonDocument.Parse(output).RootElement;
            AssertScores(r.GetProperty("score"), (61.5, 0.9, 99), (79, 2.2, 101));
            Assert.Equal(["linear-a@1", "linear-a@1"], r.GetProperty("score").EnumerateArray().Select(s => s.GetProperty("model").GetString()));
            AssertOutputs(r.GetProperty("score"), "snake", (61.5, 0.9, 99), (79, 2.2, 101));
            AssertOutputs(r.GetProperty("score_primary"), "snake", (61.5, 0.9, 99));
            AssertDescription(r.GetProperty("describe"));
            AssertScores(r.GetProperty("score_stream"), (61.5, 0.9, 99), (79, 2.2, 101));
            // Three protobuf rows and the two rows of the Arrow IPC bytes per Ingest call.
            Assert.All(r.GetProperty("ingest").EnumerateArray(), i => Assert.Equal(5, i.GetProperty("rows_accepted").GetInt64()));
            var seen = r.GetProperty("subscribed").EnumerateArray().ToList();
            Assert.Equal(["d1", "d2", "d3"], seen.Select(s => s.GetProperty("device").GetString()));
            TestSpecs.AssertClose(TestSpecs.Reference(70, 1.1, 100), seen[2].GetProperty("score").GetDouble());
            Assert.Equal([1L, 1L], r.GetProperty("acked").EnumerateArray().Select(a => a.GetProperty("rows").GetInt64()));
            Assert.All(r.GetProperty("acked_retry").EnumerateArray(), a => Assert.True(a.GetProperty("duplicate").GetBoolean() && a.GetProperty("rows").GetInt64() == 0));
            Assert.Equal("INVALID_ARGUMENT", r.GetProperty("error").GetProperty("code").GetString());
            var stages = (await host.Control().GetStatusAsync(new PipelineRef { Name = name })).Stages;
            Assert.True(stages[0].RowsOut >= 5, $"the source read {stages[0].RowsOut} rows");
        }
        finally
        {
            File.Delete(arrow);
        }
    }

    /// <summary>Runs the Node quickstart; the client package resolves its npm packages from the test client's
    /// node_modules (NODE_PATH works for its CommonJS requires).</summary>
    private Task<(int Code, string Output, string Error)> RunNodeAsync(string node, string clientFolder, string root, string pipeline, string? arrowFile) =>
        NodeTool.RunAsync(node, [Path.Combine(root, "clients", "node", "examples", "quickstart.js"), Target, HostFixture.ScoreKey, pipeline, .. arrowFile is null ? Array.Empty<string>() : [arrowFile]],
            root, new Dictionary<string, string> { ["NODE_PATH"] = Path.Combine(clientFolder, "node_modules") });
}

using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using StreamMl.Host.Protos;
using StreamMl.Host.Tests.Grpc;

namespace StreamMl.Host.Tests.Inference;

/// <summary>The Open Inference Protocol's HTTP/JSON routes on the host's HTTP/1.1 port, through HttpClient (issue 19
/// item 1): health, metadata, readiness, inference with the same scores as Score, auth and {"error": ...} answers.</summary>
[Collection(HostCollection.Name)]
public sealed class InferenceHttpTests(HostFixture host)
{
    private HttpClient Http(string? key = HostFixture.ScoreKey)
    {
        var client = new HttpClient { BaseAddress = new Uri(host.Server.HttpAddress!) };
        if (key is not null) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static string Body(string id, IReadOnlyList<TestSpecs.Reading> readings) => JsonSerializer.Serialize(new
    {
        id,
        inputs = new object[]
        {
            new { name = "device", datatype = "BYTES", shape = new[] { readings.Count }, data = readings.Select(r => r.Device) },
            new { name = "temperature", datatype = "FP32", shape = new[] { readings.Count, 1 }, data = readings.Select(r => new[] { r.Temperature }) },
            new { name = "vibration", datatype = "FP32", shape = new[] { readings.Count }, data = readings.Select(r => r.Vibration) },
            new { name = "pressure", datatype = "FP32", shape = new[] { readings.Count }, data = readings.Select(r => r.Pressure) },
        },
    });

    [Fact]
    public async Task Infer_over_JSON_answers_the_same_scores_as_Score()
    {
        await host.Control().CreatePipelineAsync(new CreatePipelineRequest { Spec = TestSpecs.Sensors("oip-http"), Replace = true });
        var readings = TestSpecs.Readings(20, 4);
        var score = await host.DataPlane().ScoreAsync(new ScoreRequest { Pipeline = "oip-http", Rows = TestSpecs.ToRowSet(readings) });

        using var http = Http();
        using var response = await http.PostAsync("/v2/models/oip-http/versions/1/infer", Json(Body("h1", readings)));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        using var json = JsonDocument.Parse(text);
        Assert.Equal("h1", json.RootElement.GetProperty("id").GetString());
        Assert.Equal("1", json.RootElement.GetProperty("model_version").GetString());
        var outputs = json.RootElement.GetProperty("outputs").EnumerateArray().ToDictionary(o => o.GetProperty("name").GetString()!);
        Assert.Equal("FP32", outputs["score"].GetProperty("datatype").GetString());
        Assert.Equal(score.Scores.Select(s => s.Score), outputs["score"].GetProperty("data").EnumerateArray().Select(e => e.GetSingle()));
        Assert.Equal(score.Scores.Select(s => s.Model), outputs["model"].GetProperty("data").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task Health_metadata_and_readiness_answer_as_the_protocol_says()
    {
        await host.Control().CreatePipelineAsync(new CreatePipelineRequest { Spec = TestSpecs.Sensors("oip-http-meta"), Replace = true });
        using var anonymous = Http(key: null);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/v2/health/live")).StatusCode);
        var ready = (await anonymous.GetAsync("/v2/health/ready")).StatusCode;
        Assert.True(ready is HttpStatusCode.OK or HttpStatusCode.BadRequest, $"{ready}");

        using var http = Http();
        using var server = JsonDocument.Parse(await http.GetStringAsync("/v2"));
        Assert.Equal("streamml", server.RootElement.GetProperty("name").GetString());
        using var model = JsonDocument.Parse(await http.GetStringAsync("/v2/models/oip-http-meta"));
        Assert.Equal(["device", "temperature", "vibration", "pressure", "fault"],
            model.RootElement.GetProperty("inputs").EnumerateArray().Select(i => i.GetProperty("name").GetString()));
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/v2/models/oip-http-meta/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/v2/models/oip-http-meta/versions/1/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/v2/models/oip-http-meta/versions/3/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/v2/models/no-such-model")).StatusCode);
    }

    [Fact]
    public async Task Keys_are_checked_like_gRPC_and_errors_are_JSON_with_the_right_status()
    {
        await host.Control().CreatePipelineAsync(new CreatePipelineRequest { Spec = TestSpecs.Sensors("oip-http-errors"), Replace = true });
        var body = Body("e", TestSpecs.Readings(2, 3));
        async Task<(HttpStatusCode Status, string Error)> Post(HttpClient client, string path, string json)
        {
            using var response = await client.PostAsync(path, Json(json));
            using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            return (response.StatusCode, doc.RootElement.GetProperty("error").GetString()!);
        }
        using var none = Http(key: null);
        using var read = Http(HostFixture.ReadKey);
        using var http = Http();
        Assert.Equal(HttpStatusCode.Unauthorized, (await Post(none, "/v2/models/oip-http-errors/infer", body)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await Post(read, "/v2/models/oip-http-errors/infer", body)).Status);
        using (var header = new HttpRequestMessage(HttpMethod.Get, "/v2/models/oip-http-errors"))
        {
            header.Headers.Add("x-api-key", HostFixture.ScoreKey);
            Assert.Equal(HttpStatusCode.OK, (await none.SendAsync(header)).StatusCode);
        }

        var unknown = await Post(http, "/v2/models/nope/infer", body);
        Assert.Equal(HttpStatusCode.NotFound, unknown.Status);
        Assert.Contains("'nope'", unknown.Error);
        var version = await Post(http, "/v2/models/oip-http-errors/versions/9/infer", body);
        Assert.Equal(HttpStatusCode.NotFound, version.Status);
        var datatype = await Post(http, "/v2/models/oip-http-errors/infer", """{"inputs":[{"name":"temperature","shape":[1],"datatype":"INT64","data":[3]}]}""");
        Assert.Equal(HttpStatusCode.BadRequest, datatype.Status);
        Assert.Contains("'temperature' is INT64", datatype.Error);
        var element = await Post(http, "/v2/models/oip-http-errors/infer", """{"inputs":[{"name":"temperature","shape":[2],"datatype":"FP32","data":[3,"hot"]}]}""");
        Assert.Equal(HttpStatusCode.BadRequest, element.Status);
        Assert.Contains("element 1 is a string", element.Error);
        var notJson = await Post(http, "/v2/models/oip-http-errors/infer", "{inputs:");
        Assert.Equal(HttpStatusCode.BadRequest, notJson.Status);
        Assert.Contains("not JSON", notJson.Error);
    }
}

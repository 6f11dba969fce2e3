using Grpc.Core;
using Google.Protobuf;
using StreamMl.Host.Grpc.Inference.Protocol;
using StreamMl.Host.Protos;
using StreamMl.Host.Tests.Grpc;

namespace StreamMl.Host.Tests.Inference;

/// <summary>inference.GRPCInferenceService against a live host: parity with Score, metadata, readiness, auth and bad
/// input (issue 19 item 1).</summary>
[Collection(HostCollection.Name)]
public sealed class InferenceGrpcTests(HostFixture host)
{
    private async Task<string> CreateAsync(string name, bool validation = false, string model = "linear-a")
    {
        await host.Control().CreatePipelineAsync(new CreatePipelineRequest { Spec = TestSpecs.Sensors(name, model: model, validation: validation), Replace = true });
        return name;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ModelInfer_answers_the_same_scores_as_Score_for_the_same_rows(bool raw)
    {
        var name = await CreateAsync($"oip-parity-{raw}");
        var readings = TestSpecs.Readings(50, 19);
        var score = await host.DataPlane().ScoreAsync(new ScoreRequest { Pipeline = name, Rows = TestSpecs.ToRowSet(readings) });
        var infer = await OipRequests.Client(host).ModelInferAsync(OipRequests.Infer(name, readings, raw));

        Assert.Equal(raw, infer.RawOutputContents.Count > 0);
        Assert.Equal("oip-1", infer.Id);
        Assert.Equal(name, infer.ModelName);
        Assert.Equal("1", infer.ModelVersion);
        var scores = OipRequests.Scores(infer);
        Assert.Equal(score.Scores.Select(s => s.Score), scores);
        for (var i = 0; i < readings.Count; i++)
            TestSpecs.AssertClose(TestSpecs.Reference(readings[i].Temperature, readings[i].Vibration, readings[i].Pressure), scores[i]);
        Assert.Equal(score.Scores.Select(s => s.Model), OipRequests.Strings(infer, "model"));
        Assert.Equal(score.Scores.Select(s => s.Label), OipRequests.Strings(infer, "label"));
        Assert.Equal(score.Scores.SelectMany(s => s.Probabilities), OipRequests.Floats(infer, "probabilities"));
        Assert.Contains("1", OipRequests.Strings(infer, "label"));
        Assert.Contains("0", OipRequests.Strings(infer, "label"));
        Assert.All(infer.Outputs, o => Assert.Equal(o.Name == "probabilities" ? [readings.Count, 2] : [readings.Count], o.Shape));
    }

    [Fact]
    public async Task Rows_rejected_by_validation_come_back_as_in_Score_with_the_reason_and_a_NaN_score()
    {
        var name = await CreateAsync("oip-validation", validation: true);
        List<TestSpecs.Reading> readings = [new("d1", 60, 1.0f, 100, false), new("d2", 60, -3.0f, 100, false), new("d9", 60, 1.0f, 100, false)];
        var score = await host.DataPlane().ScoreAsync(new ScoreRequest { Pipeline = name, Rows = TestSpecs.ToRowSet(readings) });
        var infer = await OipRequests.Client(host).ModelInferAsync(OipRequests.Infer(name, readings));

        var rejected = infer.Outputs.Single(o => o.Name == "rejected").Contents.BoolContents;
        Assert.Equal(score.Scores.Select(s => s.Rejected), rejected);
        Assert.Equal(score.Scores.Select(s => s.Reason), OipRequests.Strings(infer, "reason"));
        var scores = OipRequests.Scores(infer);
        Assert.Equal(score.Scores[0].Score, scores[0]);
        Assert.True(float.IsNaN(scores[1]) && float.IsNaN(scores[2]));
    }

    [Fact]
    public async Task The_registry_model_name_reaches_the_pipeline_that_serves_it_and_a_version_it_does_not_serve_is_NOT_FOUND()
    {
        var name = await CreateAsync("oip-by-model", model: "oip-model-x");
        var readings = TestSpecs.Readings(3, 5);
        var client = OipRequests.Client(host);
        var byModel = await client.ModelInferAsync(OipRequests.Infer("oip-model-x", readings, version: "1"));
        var byPipeline = await client.ModelInferAsync(OipRequests.Infer(name, readings));
        Assert.Equal(OipRequests.Scores(byPipeline), OipRequests.Scores(byModel));
        Assert.Equal("oip-model-x", byModel.ModelName);

        var wrongVersion = await Assert.ThrowsAsync<RpcException>(async () => await client.ModelInferAsync(OipRequests.Infer("oip-model-x", readings, version: "7")));
        Assert.Equal(StatusCode.NotFound, wrongVersion.StatusCode);
        Assert.Contains("version '7'", wrongVersion.Status.Detail);
        Assert.Contains("oip-model-x@1 (primary)", wrongVersion.Status.Detail);
        var unknown = await Assert.ThrowsAsync<RpcException>(async () => await client.ModelInferAsync(OipRequests.Infer("no-such-model", readings)));
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("'no-such-model'", unknown.Status.Detail);
    }

    [Fact]
    public async Task A_model_version_or_variant_pins_the_model_that_answers_every_row_as_in_Score()
    {
        await CreateAsync("oip-pin-b-source", model: "oip-pin-b"); // registers oip-pin-b@1 (the same spec's weights)
        await host.Control().CreatePipelineAsync(new CreatePipelineRequest { Spec = TestSpecs.Sensors("oip-pin", model: "oip-pin-a", other: true), Replace = true });
        await host.Control().DeployModelAsync(new DeployModelRequest { Pipeline = "oip-pin", Model = new ModelRef { Name = "oip-pin-b", Version = "1" }, CandidateTraffic = 0.5 });
        var readings = TestSpecs.Readings(40, 8);
        var client = OipRequests.Client(host);

        var candidate = await client.ModelInferAsync(OipRequests.Infer("oip-pin", readings, version: "candidate"));
        Assert.All(OipRequests.Strings(candidate, "model"), m => Assert.Equal("oip-pin-b@1", m));
        var scores = OipRequests.Scores(candidate);
        for (var i = 0; i < readings.Count; i++)
            TestSpecs.AssertClose(TestSpecs.Reference(readings[i].Temperature, readings[i].Vibration, readings[i].Pressure), scores[i]);
        var native = await host.DataPlane().ScoreAsync(new ScoreRequest { Pipeline = "oip-pin", Rows = TestSpecs.ToRowSet(readings), ModelVersion = "candidate" });
        Assert.Equal(native.Scores.Select(s => s.Score), scores);

        var primary = await client.ModelInferAsync(OipRequests.Infer("oip-pin", readings, version: "primary"));
        Assert.All(OipRequests.Strings(primary, "model"), m => Assert.Equal("oip-pin-a@1", m));
        TestSpecs.AssertClose(TestSpecs.Reference(readings[0].Temperature, readings[0].Vibration, readings[0].Pressure, other: true), OipRequests.Scores(primary)[0]);
        var split = OipRequests.Strings(await client.ModelInferAsync(OipRequests.Infer("oip-pin", readings)), "model");
        Assert.Contains("oip-pin-a@1", split);
        Assert.Contains("oip-pin-b@1", split);
    }

    [Fact]
    public async Task Metadata_and_readiness_describe_the_pipeline_inputs_with_protocol_datatypes()
    {
        var name = await CreateAsync("oip-metadata");
        var client = OipRequests.Client(host);
        var metadata = await client.ModelMetadataAsync(new ModelMetadataRequest { Name = name });
        // The columns of TestSpecs.Sensors and their OIP datatypes.
        Assert.Equal(["device:BYTES", "temperature:FP32", "vibration:FP32", "pressure:FP32", "fault:BOOL"], metadata.Inputs.Select(i => $"{i.Name}:{i.Datatype}"));
        // An inline logistic model is a binary classifier: label and probabilities, as Score answers.
        Assert.Equal(["score:FP32", "model:BYTES", "rejected:BOOL", "reason:BYTES", "label:BYTES", "probabilities:FP32"], metadata.Outputs.Select(i => $"{i.Name}:{i.Datatype}"));
        Assert.Equal([-1L, 2L], metadata.Outputs.Single(o => o.Name == "probabilities").Shape);
        Assert.Equal(["1"], metadata.Versions);
        Assert.All(metadata.Inputs, i => Assert.Equal([-1L], i.Shape));

        Assert.True((await client.ModelReadyAsync(new ModelReadyRequest { Name = name, Version = "1" })).Ready);
        Assert.False((await client.ModelReadyAsync(new ModelReadyRequest { Name = name, Version = "2" })).Ready);
        Assert.False((await client.ModelReadyAsync(new ModelReadyRequest { Name = "no-such-model" })).Ready);
        var unauthenticated = OipRequests.Client(host, key: null);
        Assert.True((await unauthenticated.ServerLiveAsync(new ServerLiveRequest())).Live);
        _ = await unauthenticated.ServerReadyAsync(new ServerReadyRequest());
        Assert.Equal("streamml", (await client.ServerMetadataAsync(new ServerMetadataRequest())).Name);
    }

    [Fact]
    public async Task Inference_and_metadata_need_the_score_role()
    {
        var name = await CreateAsync("oip-auth");
        var request = OipRequests.Infer(name, TestSpecs.Readings(2, 1));
        var none = await Assert.ThrowsAsync<RpcException>(async () => await OipRequests.Client(host, key: null).ModelInferAsync(request));
        Assert.Equal(StatusCode.Unauthenticated, none.StatusCode);
        var read = await Assert.ThrowsAsync<RpcException>(async () => await OipRequests.Client(host, HostFixture.ReadKey).ModelInferAsync(request));
        Assert.Equal(StatusCode.PermissionDenied, read.StatusCode);
        var metadata = await Assert.ThrowsAsync<RpcException>(async () => await OipRequests.Client(host, HostFixture.ReadKey).ModelMetadataAsync(new ModelMetadataRequest { Name = name }));
        Assert.Equal(StatusCode.PermissionDenied, metadata.StatusCode);
        Assert.Equal(2, (await OipRequests.Client(host, HostFixture.AdminKey).ModelInferAsync(request)).Outputs[0].Shape[0]);
    }

    public static TheoryData<string, string, string[]> BadRequests => new()
    {
        { "wrong datatype", """{"name":"temperature","datatype":"FP64","shape":[2],"fp64":[1,2]}""", ["temperature", "FP64", "FP32"] },
        { "shape and elements disagree", """{"name":"temperature","datatype":"FP32","shape":[3],"fp32":[1,2]}""", ["temperature", "shape [3]", "2 elements"] },
        { "not a column shape", """{"name":"temperature","datatype":"FP32","shape":[1,2],"fp32":[1,2]}""", ["temperature", "[1, 2]", "[rows]"] },
        { "unknown input", """{"name":"humidity","datatype":"FP32","shape":[2],"fp32":[1,2]}""", ["humidity", "temperature (FP32)"] },
        { "missing required input", """{"name":"vibration","datatype":"FP32","shape":[2],"fp32":[1,2]}""", ["'temperature'", "missing"] },
        { "rows differ", """{"name":"temperature","datatype":"FP32","shape":[2],"fp32":[1,2]}|{"name":"vibration","datatype":"FP32","shape":[1],"fp32":[1]}""", ["vibration", "1 rows", "2"] },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Bad_input_is_INVALID_ARGUMENT_naming_the_input_and_shape(string what, string tensors, string[] expected)
    {
        var name = await CreateAsync("oip-bad");
        var request = new ModelInferRequest { ModelName = name };
        foreach (var json in tensors.Split('|'))
        {
            using var doc = System.Text.Json.JsonDocument.Parse(json);
            var root = doc.RootElement;
            var tensor = OipRequests.Tensor(root.GetProperty("name").GetString()!, root.GetProperty("datatype").GetString()!,
                [.. root.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64())]);
            tensor.Contents = new InferTensorContents();
            if (root.TryGetProperty("fp32", out var fp32)) tensor.Contents.Fp32Contents.Add(fp32.EnumerateArray().Select(e => e.GetSingle()));
            if (root.TryGetProperty("fp64", out var fp64)) tensor.Contents.Fp64Contents.Add(fp64.EnumerateArray().Select(e => e.GetDouble()));
            request.Inputs.Add(tensor);
        }
        var error = await Assert.ThrowsAsync<RpcException>(async () => await OipRequests.Client(host).ModelInferAsync(request));
        Assert.True(error.StatusCode == StatusCode.InvalidArgument, $"{what}: {error.Status}");
        foreach (var part in expected) Assert.Contains(part, error.Status.Detail);
    }

    [Fact]
    public async Task Raw_contents_of_the_wrong_length_and_unknown_outputs_are_INVALID_ARGUMENT()
    {
        var name = await CreateAsync("oip-bad-raw");
        var request = OipRequests.Infer(name, TestSpecs.Readings(4, 2), raw: true);
        request.RawInputContents[1] = ByteString.CopyFrom(new byte[10]);
        var error = await Assert.ThrowsAsync<RpcException>(async () => await OipRequests.Client(host).ModelInferAsync(request));
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("'temperature' (FP32, shape [4]) has 10 bytes", error.Status.Detail);

        var outputs = OipRequests.Infer(name, TestSpecs.Readings(4, 2));
        outputs.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "embedding" });
        error = await Assert.ThrowsAsync<RpcException>(async () => await OipRequests.Client(host).ModelInferAsync(outputs));
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("'embedding'", error.Status.Detail);

        var garbage = new ModelInferRequest { ModelName = name };
        error = await Assert.ThrowsAsync<RpcException>(async () => await OipRequests.Client(host).ModelInferAsync(garbage));
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("no inputs", error.Status.Detail);
    }

    [Fact]
    public async Task Requested_outputs_narrow_the_answer()
    {
        var name = await CreateAsync("oip-outputs");
        var request = OipRequests.Infer(name, TestSpecs.Readings(3, 9));
        request.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "score" });
        var response = await OipRequests.Client(host).ModelInferAsync(request);
        Assert.Equal(["score"], response.Outputs.Select(o => o.Name));
    }
}

using Grpc.Core;
using StreamMl.Engine;
using StreamMl.Host.Models;
using StreamMl.Host.Pipelines;
using StreamMl.Host.Protos;

namespace StreamMl.Host.Tests.Grpc;

/// <summary>Score's outputs (probabilities, label, the model name, version and variant that answered), its
/// model_version selector, and DescribeModel, through a real client; the scoring stage stays allocation-free.</summary>
[Collection(HostCollection.Name)]
public sealed class ScoreOutputsTests(HostFixture host, Xunit.Abstractions.ITestOutputHelper output)
{
    private async Task CreateAsync(string name, string model, bool other = false) =>
        await host.Control().CreatePipelineAsync(new CreatePipelineRequest { Spec = TestSpecs.Sensors(name, model, other), Start = true, Replace = true });

    /// <summary>A pipeline scored by out-a@1 with out-b@1 (other weights) as a 40 % candidate.</summary>
    private async Task<string> AbPipelineAsync(string name)
    {
        await CreateAsync($"{name}-b-source", "out-b", other: true); // registers out-b@1
        await CreateAsync(name, "out-a");
        await host.Control().DeployModelAsync(new DeployModelRequest
        {
            Pipeline = name, Model = new ModelRef { Name = "out-b", Version = "1" }, CandidateTraffic = 0.4,
        });
        return name;
    }

    [Fact]
    public async Task Score_returns_class_probabilities_the_thresholded_label_and_which_model_and_variant_answered()
    {
        var name = await AbPipelineAsync("outputs-ab");
        var readings = TestSpecs.Readings(300, seed: 41);
        var response = await host.DataPlane().ScoreAsync(new ScoreRequest { Pipeline = name, Rows = TestSpecs.ToRowSet(readings) });

        output.WriteLine(Google.Protobuf.JsonFormatter.Default.Format(response.Scores[0])); // docs/host.md shows this
        var variants = new HashSet<string>();
        for (var i = 0; i < readings.Count; i++)
        {
            var row = response.Scores[i];
            var r = readings[i];
            Assert.False(row.Rejected, row.Reason);
            var candidate = row.ModelName == "out-b";
            Assert.Equal(candidate ? "candidate" : "primary", row.Variant);
            Assert.Equal(candidate ? "out-b" : "out-a", row.ModelName);
            Assert.Equal("1", row.ModelVersion);
            Assert.Equal($"{row.ModelName}@{row.ModelVersion}", row.Model);
            var p = TestSpecs.Reference(r.Temperature, r.Vibration, r.Pressure, other: candidate);
            Assert.Equal(2, row.Probabilities.Count);
            TestSpecs.AssertClose(1 - p, row.Probabilities[0]);
            TestSpecs.AssertClose(p, row.Probabilities[1]);
            // Threshold 0.5 on P(class 1); the rows near it are checked with the host's own float score.
            Assert.Equal(row.Score >= 0.5f ? "1" : "0", row.Label);
            if (Math.Abs(p - 0.5) > 1e-4) Assert.Equal(p >= 0.5 ? "1" : "0", row.Label);
            variants.Add(row.Variant);
        }
        Assert.Equal(["candidate", "primary"], variants.Order());
    }

    [Theory]
    [InlineData("candidate", "out-b", "candidate")]
    [InlineData("primary", "out-a", "primary")]
    [InlineData("out-b@1", "out-b", "candidate")]
    public async Task A_model_version_selector_makes_that_model_answer_every_row(string selector, string model, string variant)
    {
        var name = await AbPipelineAsync($"outputs-pin-{variant}-{selector.Length}");
        var readings = TestSpecs.Readings(120, seed: 42);
        var response = await host.DataPlane().ScoreAsync(new ScoreRequest { Pipeline = name, Rows = TestSpecs.ToRowSet(readings), ModelVersion = selector });

        for (var i = 0; i < readings.Count; i++)
        {
            var r = readings[i];
            Assert.Equal(model, response.Scores[i].ModelName);
            Assert.Equal(variant, response.Scores[i].Variant);
            TestSpecs.AssertClose(TestSpecs.Reference(r.Temperature, r.Vibration, r.Pressure, other: model == "out-b"), response.Scores[i].Score);
        }
    }

    [Fact]
    public async Task A_selector_naming_no_deployed_model_is_invalid_argument_listing_what_is_deployed()
    {
        var name = await AbPipelineAsync("outputs-pin-missing");
        var ex = await Assert.ThrowsAsync<RpcException>(() => host.DataPlane().ScoreAsync(new ScoreRequest
        {
            Pipeline = name, Rows = TestSpecs.ToRowSet(TestSpecs.Readings(2, seed: 43)), ModelVersion = "7",
        }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains("out-a@1 (primary), out-b@1 (candidate)", ex.Status.Detail);
        var violation = Assert.Single(ErrorDetailsTests.Violations(ex));
        Assert.Equal("model_version", violation.Field);
    }

    [Fact]
    public async Task DescribeModel_lists_the_input_columns_the_outputs_and_each_deployed_variant()
    {
        var name = await AbPipelineAsync("outputs-describe");
        var description = await host.DataPlane().DescribeModelAsync(new DescribeModelRequest { Pipeline = name });

        // The spec's source columns (TestSpecs.Sensors), with temperature the one required.
        Assert.Equal(["device:string", "temperature:float32", "vibration:float32", "pressure:float32", "fault:bool"],
            description.Inputs.Select(c => $"{c.Name}:{c.Type}"));
        Assert.Equal(["temperature"], description.Inputs.Where(c => c.Required).Select(c => c.Name));
        // Every output named is a RowScore field.
        var fields = RowScore.Descriptor.Fields.InDeclarationOrder().Select(f => f.Name).ToHashSet();
        Assert.All(description.Outputs, o => Assert.Contains(o.Name, fields));
        Assert.Equal(1024, description.MaxScoreRows);

        Assert.Equal(2, description.Models.Count);
        var primary = description.Models[0];
        var candidate = description.Models[1];
        Assert.Equal(("out-a", "1", "primary", "binary", "linear"), (primary.Name, primary.Version, primary.Variant, primary.Task, primary.Kind));
        Assert.Equal(("out-b", "candidate"), (candidate.Name, candidate.Variant));
        Assert.Equal(0.6, primary.Traffic, 9);
        Assert.Equal(0.4, candidate.Traffic, 9);
        Assert.Equal(0.5, primary.Threshold);
        Assert.Equal(["0", "1"], primary.Classes);
        Assert.Equal(TestSpecs.Weights.Keys, primary.Inputs);

        output.WriteLine(Google.Protobuf.JsonFormatter.Default.Format(description)); // docs/host.md shows this
        var one = await host.DataPlane().DescribeModelAsync(new DescribeModelRequest { Pipeline = name, ModelVersion = "candidate" });
        Assert.Equal("out-b", Assert.Single(one.Models).Name);
    }

    [Fact]
    public async Task DescribeModel_needs_the_score_role()
    {
        var name = await AbPipelineAsync("outputs-describe-auth");
        var ex = await Assert.ThrowsAsync<RpcException>(() => host.DataPlane(HostFixture.ReadKey).DescribeModelAsync(new DescribeModelRequest { Pipeline = name }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, ex.StatusCode);
        var anonymous = await Assert.ThrowsAsync<RpcException>(() => host.DataPlane(null).DescribeModelAsync(new DescribeModelRequest { Pipeline = name }).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, anonymous.StatusCode);
    }

    [Fact]
    public void A_router_pinned_to_the_candidate_scores_batches_without_allocating()
    {
        var deployments = new ModelDeployments();
        ModelEntry Linear(string name, Dictionary<string, double> weights, double bias) =>
            new(name, "1", "linear", [.. weights.Keys], () => new LinearModel(weights, bias, logistic: true), new Dictionary<string, double>(), new Dictionary<string, string>());
        var primary = Linear("a", TestSpecs.Weights, TestSpecs.Bias);
        var candidate = Linear("b", TestSpecs.OtherWeights, TestSpecs.OtherBias);
        deployments.Deploy(primary, 1);
        deployments.Deploy(candidate, 0.5);
        var router = ScoringStage.Create(deployments, "score", keyColumn: "device", labelColumn: null);
        router.Pinned = candidate;
        var input = new Schema([new Field("device", ColumnType.String), new Field("temperature", ColumnType.Float32),
            new Field("vibration", ColumnType.Float32), new Field("pressure", ColumnType.Float32)]);
        var schema = router.Bind(input);
        using var batch = new ColumnBatch(schema, 256);
        var readings = TestSpecs.Readings(256, seed: 44);
        batch.Length = readings.Count;
        for (var i = 0; i < readings.Count; i++)
        {
            batch[0].Values<int>()[i] = batch[0].Dictionary!.GetOrAdd(readings[i].Device);
            batch[1].Values<float>()[i] = readings[i].Temperature;
            batch[2].Values<float>()[i] = readings[i].Vibration;
            batch[3].Values<float>()[i] = readings[i].Pressure;
        }
        var context = StageContext.Standalone("model");
        for (var warm = 0; warm < 3; warm++) router.Process(batch, context);

        Assert.Equal(0, SteadyState.AllocatedBytes(() => router.Process(batch, context), 100));

        var scores = batch[schema.IndexOf("score")].Values<float>();
        for (var i = 0; i < readings.Count; i++)
            TestSpecs.AssertClose(TestSpecs.Reference(readings[i].Temperature, readings[i].Vibration, readings[i].Pressure, other: true), scores[i]);
    }
}

using StreamMl.Engine;
using StreamMl.Host.Models;
using StreamMl.Host.Pipelines;
using StreamMl.Host.Tests.Registry;
using StreamMl.Operators.Scoring;

namespace StreamMl.Host.Tests.Pipelines;

/// <summary>A/B routing agrees between the host and the library: the host's model stage with a candidate at share w
/// sends exactly the keys to the candidate that a library <see cref="ScoringOperator"/> with variants
/// (primary, 1 - w), (candidate, w) sends to its second variant, for string and integer keys.</summary>
public sealed class RoutingAgreementTests
{
    private static ModelEntry Linear(string name) => new(name, "1", "linear", ["a", "b", "c"],
        () => new LinearModel(new Dictionary<string, double> { ["a"] = 1, ["b"] = 1, ["c"] = 1 }, 0, true),
        new Dictionary<string, double>(), new Dictionary<string, string>());

    [Theory]
    [InlineData(ColumnType.String, 0.1)]
    [InlineData(ColumnType.String, 0.37)]
    [InlineData(ColumnType.String, 0.5)]
    [InlineData(ColumnType.String, 0.93)]
    [InlineData(ColumnType.Int64, 0.25)]
    [InlineData(ColumnType.Int32, 0.6)]
    public void The_host_and_the_scoring_operator_route_every_key_to_the_same_variant(ColumnType keyType, double share)
    {
        const int rows = 2000;
        var input = new Schema(new Field("key", keyType), new Field("a", ColumnType.Float32), new Field("b", ColumnType.Float32),
            new Field("c", ColumnType.Float32));
        var random = new Random(11);

        // The library: two real ONNX models, split by the key.
        using var primaryModel = OnnxModel.FromBytes(RegistryTestModels.Train(1), "primary");
        using var candidateModel = OnnxModel.FromBytes(RegistryTestModels.Train(2), "candidate");
        using var scorer = new ScoringOperator(primaryModel, new ScoringOptions { FeatureColumns = ["a", "b", "c"], RoutingKeyColumn = "key" });
        scorer.SetVariants((primaryModel, 1 - share), (candidateModel, share));
        var librarySchema = scorer.Bind(input);
        using var libraryBatch = new ColumnBatch(librarySchema, rows);

        // The host: its model stage with a primary and a candidate at the same share.
        var deployments = new ModelDeployments();
        deployments.Deploy(Linear("primary"), 1);
        deployments.Deploy(Linear("candidate"), share);
        var router = ScoringStage.Create(deployments, "score", keyColumn: "key", labelColumn: null);
        using var hostBatch = new ColumnBatch(router.Bind(input), rows);

        foreach (var batch in new[] { libraryBatch, hostBatch })
        {
            batch.Length = rows;
            var column = batch["key"];
            for (var r = 0; r < rows; r++)
            {
                var key = random.NextInt64(-1_000_000_000, 1_000_000_000);
                switch (keyType)
                {
                    case ColumnType.String: column.Values<int>()[r] = column.Dictionary!.GetOrAdd($"device-{key}"); break;
                    case ColumnType.Int64: column.Values<long>()[r] = key; break;
                    default: column.Values<int>()[r] = (int)key; break;
                }
                batch["a"].Values<float>()[r] = random.NextSingle();
                batch["b"].Values<float>()[r] = random.NextSingle();
                batch["c"].Values<float>()[r] = random.NextSingle();
            }
            random = new Random(11); // the same keys in both batches
        }

        scorer.Score(libraryBatch);
        router.Process(hostBatch, StageContext.Standalone("model"));

        var libraryVariant = libraryBatch["model_variant"];
        var hostModel = hostBatch["model"];
        var toCandidate = 0;
        for (var r = 0; r < rows; r++)
        {
            var library = libraryVariant.Dictionary![libraryVariant.Values<int>()[r]];
            var host = hostModel.Dictionary![hostModel.Values<int>()[r]];
            Assert.Equal(library == "candidate", host == "candidate@1");
            if (host == "candidate@1") toCandidate++;
        }
        // Both halves are exercised, in about the configured proportion.
        Assert.InRange(toCandidate / (double)rows, share - 0.05, share + 0.05);
    }
}

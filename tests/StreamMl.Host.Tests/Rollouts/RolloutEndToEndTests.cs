using System.Globalization;
using System.Text;
using StreamMl.Engine;
using StreamMl.Host.Models;
using StreamMl.Host.Pipelines;
using StreamMl.Host.Registry;
using StreamMl.Host.Tests.Training;
using StreamMl.Host.Training;
using StreamMl.Operators.Rollouts;
using StreamMl.Testing;
using Xunit.Abstractions;

namespace StreamMl.Host.Tests.Rollouts;

/// <summary>Rollouts through the host's model stage with registry versions trained by <c>streamml train</c> on generated
/// rows (y depends on x0 and x1): v1 ignores x1, v2 uses both, v3 learned from x2 alone (noise). v2 is rolled out
/// against v1 and promoted in the registry after shadow, 5 % and 25 %; v3 is then rolled out against v2 and rolled
/// back in shadow, its reason in the registry history and in <c>models show</c>. Time is a manual clock: 30 s per
/// batch of 1,000 rows.</summary>
public sealed class RolloutEndToEndTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _folder = TrainingTestData.TempFolder();

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static readonly RolloutOptions s_options = new()
    {
        Steps = [0, 0.05, 0.25],
        MinRows = 400,
        MinDuration = TimeSpan.FromMinutes(2),
        MaxDuration = TimeSpan.FromMinutes(60),
        MinLabels = 300,
        MaxScorePsi = 10, // the better model's scores spread wider; labels decide here
        MaxScoreKs = 1,
        MaxLatencyRatio = 100, // wall-clock latency on a machine shared by eight builds; the guardrail has its own test
    };

    [Fact]
    public async Task A_better_version_is_promoted_in_the_registry_and_a_worse_one_rolled_back_with_its_reason()
    {
        var train = WriteRows(Path.Combine(_folder, "train.csv"), 3000, seed: 1);
        var stream = WriteRows(Path.Combine(_folder, "stream.csv"), 60_000, seed: 2);
        await Train(train, "drop: [x1]");
        await Train(train, "");
        await Train(train, "drop: [x0, x1]");
        var registry = new ModelRegistry(Path.Combine(_folder, "models"));
        registry.Promote("gen", 1, "test");
        var catalog = new ModelCatalog();
        RegistryModels.Attach(catalog, registry.Root);

        var deployments = new ModelDeployments();
        deployments.Deploy(catalog.Require("gen", "1"), 1);
        var table = (await DataTableReader.ReadAsync(stream, 0, CancellationToken.None)).Table;
        var router = ScoringStage.Create(deployments, "score", keyColumn: null, labelColumn: "y");
        var schema = router.Bind(table.SchemaOf(["id", "x0", "x1", "x2", "y"]));
        using var batch = new ColumnBatch(schema, 1000);
        var rows = Enumerable.Range(0, table.Rows).ToArray();
        var next = 0;

        var better = Run("2");
        Assert.Equal(RolloutPhase.Promoted, better.Rollout.Current.Phase);
        Assert.Equal("2", deployments.Current.Primary!.Version);
        Assert.Null(deployments.Current.Candidate);
        Assert.Equal(2, registry.Stages("gen").Production);
        // Training may have promoted v2 before the test made v1 production: the rollout's events come after that.
        Assert.Equal(["rollout-shadow", "rollout-canary", "rollout-canary", "rollout-promoted", "promote"],
            registry.Stages("gen").History.Where(e => e.Version == 2).Select(e => e.Action).TakeLast(5));

        var worse = Run("3");
        Assert.Equal(RolloutPhase.RolledBack, worse.Rollout.Current.Phase);
        Assert.Contains(worse.Rollout.Current.Report!.Checks, c => c.Name == "label-test" && !c.Passed);
        Assert.Equal("2", deployments.Current.Primary!.Version);
        Assert.Empty(deployments.Current.Shadows);
        var rolledBack = registry.Stages("gen").History.Single(e => e.Version == 3 && e.Action == "rollout-rolled-back");
        Assert.Contains("AUC", rolledBack.Reason);
        Assert.Equal(2, registry.Stages("gen").Production);

        var show = TrainingTestData.Cli("models", "show", "gen", "3", "--registry", registry.Root);
        Assert.Equal(0, show.Exit);
        Assert.Contains("rollout-rolled-back", show.Output);
        Assert.Contains(rolledBack.Reason!, show.Output);

        var retire = TrainingTestData.Cli("models", "retire", "gen", "3", "--registry", registry.Root, "--reason", "lost its rollout");
        Assert.Equal(0, retire.Exit);
        Assert.Equal(ModelStage.Retired, registry.Open("gen", 3).Stage);
        var refused = Assert.Throws<RegistryException>(() => RegistryModels.RequireDeployable(catalog.Require("gen", "3"), "deployed"));
        Assert.Contains("retired and cannot be deployed", refused.Message);
        Assert.Contains("retired and cannot be promoted", Assert.Throws<RegistryException>(() => registry.Promote("gen", 3)).Message);
        Assert.Contains("retired and cannot be rolled out", Assert.Throws<RegistryException>(() => new ModelRollout("p", deployments, catalog.Require("gen", "3"), s_options)).Message);
        Assert.Contains("in production and cannot be retired", Assert.Throws<RegistryException>(() => registry.Retire("gen", 2)).Message);

        ModelRollout Run(string version)
        {
            var clock = new ManualClock();
            var rollout = new ModelRollout("p", deployments, catalog.Require("gen", version), s_options, clock).Start(tick: false);
            var context = StageContext.Standalone("model");
            for (var i = 0; i < 200 && !rollout.Rollout.IsFinished; i++)
            {
                batch.Reset();
                if (next + 1000 > rows.Length) next = 0;
                next += table.Fill(batch, rows, next);
                router.Process(batch, context);
                clock.Advance(TimeSpan.FromSeconds(30));
                rollout.Rollout.Tick();
            }
            var start = rollout.History[0].At;
            foreach (var t in rollout.History)
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{rollout.Candidate.Id}: +{(t.At - start).TotalMinutes,4:F1} min {t.Action,-11} {t.Weight * 100,3:G3}% {t.Reason}"));
            return rollout;
        }
    }

    private async Task Train(string data, string drop)
    {
        var spec = TrainingTestData.Write(_folder, $"gen-{Guid.NewGuid():N}.yaml", $"""
            name: gen
            data:
              path: {data}
              {(drop.Length > 0 ? drop : "drop: [id]")}
            target: y
            task: binary
            trainer: lr
            validation: {"{"} folds: 3, seed: 7, holdout: 0.2 {"}"}
            registry: {"{"} path: {Path.Combine(_folder, "models")} {"}"}
            """.Replace("drop: [x", "drop: [id, x", StringComparison.Ordinal));
        await TrainingRunner.RunAsync(TrainSpec.Load(spec));
    }

    /// <summary>id, x0, x1, x2 uniform on [0, 1), y = 1 with probability sigmoid(4·(x0 + x1 − 1)).</summary>
    private static string WriteRows(string path, int rows, int seed)
    {
        var random = new Random(seed);
        var text = new StringBuilder("id,x0,x1,x2,y\n");
        for (var i = 0; i < rows; i++)
        {
            double x0 = random.NextDouble(), x1 = random.NextDouble(), x2 = random.NextDouble();
            var y = random.NextDouble() < 1 / (1 + Math.Exp(-4 * (x0 + x1 - 1))) ? 1 : 0;
            text.Append(CultureInfo.InvariantCulture, $"{i},{x0:F5},{x1:F5},{x2:F5},{y}\n");
        }
        File.WriteAllText(path, text.ToString());
        return path;
    }
}

using System.Globalization;
using StreamMl.Engine;
using StreamMl.Host.Cli;
using StreamMl.Host.Models;
using StreamMl.Host.Pipelines;
using StreamMl.Host.Registry;
using StreamMl.Host.Tests.Training;
using StreamMl.Host.Training;
using StreamMl.Operators.Rollouts;
using StreamMl.Testing;
using Xunit.Abstractions;

namespace StreamMl.Host.Tests.Rollouts;

/// <summary>Two replicas (each with its own catalog, deployments, model router and rollout follower, as two hosts
/// would have) serve one registry folder. A rollout started with <c>streamml rollout start --registry</c> or on one
/// replica is recorded in the registry; both replicas follow it, both publish observations, either may judge a step
/// (each transition is appended once), and both end on the promoted or rolled-back version. Generated rows as in
/// <see cref="RolloutEndToEndTests"/>: v1 ignores x1, v2 uses x0 and x1, v3 learned from noise.</summary>
public sealed class SharedRolloutTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _folder = TrainingTestData.TempFolder();

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private sealed class Replica
    {
        public required string Name { get; init; }
        public required ModelDeployments Deployments { get; init; }
        public required StreamMl.Operators.Scoring.VariantScoringOperator Router { get; init; }
        public required RolloutFollower Follower { get; init; }
        public required ColumnBatch Batch { get; init; }

        public Rollout? Rollout => Deployments.Rollout?.Rollout;
    }

    [Fact]
    public async Task A_rollout_started_in_the_registry_is_followed_judged_over_both_replicas_and_promoted_once()
    {
        var (registry, table) = await Setup();
        var clock = new ManualClock(DateTimeOffset.UtcNow.AddSeconds(1));
        var a = Open("a", registry, table, clock);
        var b = Open("b", registry, table, clock);

        var start = Cli("rollout", "start", "--registry", registry.Root, "--model", "gen", "--version", "2", "--steps", "0", "0.05", "0.25",
            "--min-rows", "1000", "--min-seconds", "120", "--min-labels", "300", "--max-psi", "10", "--max-ks", "1");
        Assert.True(start.Exit == 0, start.Error);
        Assert.Null(a.Rollout);
        Assert.NotNull(a.Follower.Poll(tick: false, clock));
        Assert.NotNull(b.Follower.Poll(tick: false, clock));
        Assert.Null(a.Follower.Poll(tick: false, clock)); // already following it
        Assert.Equal(RolloutPhase.Shadow, a.Rollout!.Current.Phase);
        Assert.Contains(b.Deployments.Current.Shadows, s => s.Version == "2");

        // Shadow step: 600 rows on each replica, neither alone has the 1,000 candidate rows the step needs.
        var next = 0;
        Feed(a, table, ref next, 600);
        Feed(b, table, ref next, 600);
        clock.Advance(TimeSpan.FromMinutes(3));
        Assert.Null(b.Rollout!.Tick()); // b sees only its own 600 (a has published nothing yet)
        var passed = a.Rollout.Tick(); // a sees 600 + 600
        Assert.NotNull(passed);
        Assert.Equal(RolloutPhase.Canary, passed.Phase);
        Assert.Contains("after 1200 candidate rows", passed.Reason);
        Assert.Equal(RolloutPhase.Canary, b.Rollout.Tick()!.Phase); // b follows a's decision
        Assert.Equal(0.05, b.Deployments.Current.CandidateTraffic);

        for (var i = 0; i < 200 && !(a.Rollout.IsFinished && b.Rollout.IsFinished); i++)
        {
            Feed(a, table, ref next, 500);
            Feed(b, table, ref next, 500);
            clock.Advance(TimeSpan.FromSeconds(30));
            (i % 2 == 0 ? a : b).Rollout!.Tick();
            (i % 2 == 0 ? b : a).Rollout!.Tick();
        }
        Print(registry);
        Assert.Equal(RolloutPhase.Promoted, a.Rollout.Current.Phase);
        Assert.Equal(Timeline(a.Rollout), Timeline(b.Rollout));
        Assert.Equal("2", a.Deployments.Current.Primary!.Version);
        Assert.Equal("2", b.Deployments.Current.Primary!.Version);
        Assert.Equal(2, registry.Stages("gen").Production);
        Assert.Equal(["rollout-shadow", "rollout-canary", "rollout-canary", "rollout-promoted", "promote"],
            registry.Stages("gen").History.Where(e => e.Version == 2).Select(e => e.Action).TakeLast(5));
        Assert.Single(registry.Stages("gen").History, e => e.Version == 2 && e.Action == "promote" && e.Reason!.StartsWith("rollout:", StringComparison.Ordinal));
        var shared = RegistryRollouts.Latest(registry, "gen")!;
        Assert.Equal(["a", "b"], Directory.GetFiles(Path.Combine(shared.Folder, "observations")).Select(Path.GetFileNameWithoutExtension).Order());
        var status = Cli("rollout", "status", "--registry", registry.Root, "--model", "gen", "--wait", "1");
        Assert.Equal(0, status.Exit);
        Assert.Contains("promoted", status.Output);
        Assert.Contains("replicas: a, b", status.Output);
    }

    [Fact]
    public async Task A_rollout_started_on_one_replica_is_rolled_back_on_both_with_its_reason_recorded_once()
    {
        var (registry, table) = await Setup();
        registry.Promote("gen", 2, "test");
        var clock = new ManualClock(DateTimeOffset.UtcNow.AddSeconds(1));
        var a = Open("a", registry, table, clock);
        var b = Open("b", registry, table, clock);
        var catalog = new ModelCatalog();
        RegistryModels.Attach(catalog, registry.Root);
        var options = new RolloutOptions { MinRows = 400, MinDuration = TimeSpan.FromMinutes(2), MinLabels = 300, MaxScorePsi = 10, MaxScoreKs = 1, MaxLatencyRatio = 100 };

        var started = ModelRollout.Begin("p", b.Deployments, catalog.Require("gen", "3"), options, "b");
        Assert.NotNull(started?.Shared);
        Assert.Null(b.Follower.Poll(tick: false, clock)); // b runs it already
        var refused = Assert.Throws<RolloutException>(() => ModelRollout.Begin("p", a.Deployments, catalog.Require("gen", "1"), options, "a"));
        Assert.Contains("already rolling out version 3", refused.Message);
        Assert.NotNull(a.Follower.Poll(tick: false, clock));
        Assert.Contains(a.Deployments.Current.Shadows, s => s.Version == "3");
        Rollout ra = a.Rollout!, rb = b.Rollout!;

        var next = 0;
        for (var i = 0; i < 200 && !(ra.IsFinished && rb.IsFinished); i++)
        {
            Feed(a, table, ref next, 500);
            Feed(b, table, ref next, 500);
            clock.Advance(TimeSpan.FromSeconds(30));
            ra.Tick();
            rb.Tick();
        }
        Print(registry);
        Assert.Equal(RolloutPhase.RolledBack, ra.Current.Phase);
        Assert.Equal(Timeline(ra), Timeline(rb));
        Assert.Contains(ra.Current.Report!.Checks, c => c.Name == "label-test" && !c.Passed);
        foreach (var replica in (Replica[])[a, b])
        {
            Assert.Equal("2", replica.Deployments.Current.Primary!.Version);
            Assert.Empty(replica.Deployments.Current.Shadows);
            Assert.Null(replica.Deployments.Current.Candidate);
        }
        var rolledBack = Assert.Single(registry.Stages("gen").History, e => e.Version == 3 && e.Action == "rollout-rolled-back");
        Assert.Contains("AUC", rolledBack.Reason);
        Assert.Equal(2, registry.Stages("gen").Production);
    }

    private async Task<(ModelRegistry, DataTable)> Setup()
    {
        var registry = new ModelRegistry(await RolloutTestData.TrainGen(_folder));
        var stream = RolloutTestData.WriteRows(Path.Combine(_folder, "stream.csv"), 60_000, seed: 2);
        return (registry, (await DataTableReader.ReadAsync(stream, 0, CancellationToken.None)).Table);
    }

    private static Replica Open(string name, ModelRegistry registry, DataTable table, TimeProvider clock)
    {
        var catalog = new ModelCatalog();
        RegistryModels.Attach(catalog, registry.Root);
        var deployments = new ModelDeployments();
        deployments.Deploy(catalog.Require("gen", ""), 1);
        var router = ScoringStage.Create(deployments, "score", keyColumn: null, labelColumn: "y");
        var schema = router.Bind(table.SchemaOf(["id", "x0", "x1", "x2", "y"]));
        return new Replica
        {
            Name = name, Deployments = deployments, Router = router, Batch = new ColumnBatch(schema, 1000),
            Follower = new RolloutFollower("p", deployments, catalog, replica: name),
        };
    }

    private static void Feed(Replica replica, DataTable table, ref int next, int rows)
    {
        var ids = Enumerable.Range(next, rows).Select(r => r % table.Rows).ToArray();
        next += rows;
        replica.Batch.Reset();
        table.Fill(replica.Batch, ids, 0);
        replica.Router.Process(replica.Batch, StageContext.Standalone("model"));
    }

    private static string[] Timeline(Rollout rollout) =>
        rollout.History.Select(t => string.Create(CultureInfo.InvariantCulture, $"{t.At:O} {t.Action} {t.Weight} {t.Reason}")).ToArray();

    private void Print(ModelRegistry registry)
    {
        var shared = RegistryRollouts.Latest(registry, "gen")!;
        var text = new StringWriter();
        RegistryRolloutCommand.Print(shared, shared.Transitions(), text);
        output.WriteLine(text.ToString());
    }

    private static (int Exit, string Output, string Error) Cli(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = CliApp.RunAsync(args, stdout, stderr).GetAwaiter().GetResult();
        return (exit, stdout.ToString(), stderr.ToString());
    }
}

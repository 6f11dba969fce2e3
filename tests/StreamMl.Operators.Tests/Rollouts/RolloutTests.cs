using StreamMl.Operators.Rollouts;
using StreamMl.Testing;

namespace StreamMl.Operators.Tests.Rollouts;

/// <summary>The rollout state machine on a controllable clock: steps advance only with enough rows and time, a failing
/// guardrail rolls back at once with its reason, a step short of rows times out, the target sees every transition.</summary>
public sealed class RolloutTests
{
    private static readonly RolloutOptions s_options = new()
    {
        Steps = [0, 0.05, 0.25],
        MinRows = 500,
        MinDuration = TimeSpan.FromMinutes(2),
        MaxDuration = TimeSpan.FromMinutes(30),
        MinLabels = 300,
    };

    [Fact]
    public void An_equal_candidate_goes_shadow_then_canary_steps_then_promoted_each_after_its_minimum_time()
    {
        var clock = new ManualClock();
        var target = new RecordingTarget();
        var rollout = new Rollout("v1", "v2", s_options, target, clock);
        var random = new Random(1);
        Assert.Equal(RolloutPhase.Shadow, rollout.Current.Phase);

        Feed(rollout, random, championRows: 1000, candidateRows: 1000, candidateQuality: 0.75);
        Assert.Null(rollout.Tick()); // rows are there, time is not
        clock.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(RolloutPhase.Canary, rollout.Tick()!.Phase);
        Assert.Equal(0.05, rollout.Current.Weight);

        clock.Advance(TimeSpan.FromMinutes(3));
        Assert.Null(rollout.Tick()); // time is there, rows are not: the step started with none
        Feed(rollout, random, championRows: 9500, candidateRows: 500, candidateQuality: 0.75);
        Assert.Equal(0.25, rollout.Tick()!.Weight);

        Feed(rollout, random, championRows: 1500, candidateRows: 500, candidateQuality: 0.75);
        clock.Advance(TimeSpan.FromMinutes(2));
        var promoted = rollout.Tick()!;
        Assert.Equal(RolloutPhase.Promoted, promoted.Phase);
        Assert.True(promoted.Report!.Passed);
        Assert.False(promoted.Report.Checks.Single(c => c.Name == "label-test").Skipped);
        Assert.Equal(["shadow", "canary", "canary", "promoted"], target.Seen.Select(t => t.Action));
        Assert.Equal([TimeSpan.Zero, TimeSpan.FromMinutes(2), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(7)],
            target.Seen.Select(t => t.At - target.Seen[0].At));
        Assert.Null(rollout.Tick());
    }

    [Fact]
    public void A_worse_candidate_is_rolled_back_as_soon_as_its_rows_show_it_with_the_label_test_as_reason()
    {
        var clock = new ManualClock();
        var target = new RecordingTarget();
        var rollout = new Rollout("v1", "v2", s_options, target, clock);
        Feed(rollout, new Random(2), championRows: 800, candidateRows: 800, candidateQuality: 0.55);
        clock.Advance(TimeSpan.FromSeconds(10)); // before the minimum time: a failure does not wait for it

        var back = rollout.Tick()!;
        Assert.Equal(RolloutPhase.RolledBack, back.Phase);
        Assert.Equal(0, back.Weight);
        Assert.Contains(back.Report!.Checks, c => c.Name == "label-test" && !c.Passed);
        Assert.StartsWith("step 1 (shadow) failed: ", back.Reason);
        Assert.Contains("that the candidate is worse", back.Reason);
        Assert.Equal(back, target.Seen[^1]);
        Assert.True(rollout.IsFinished);
    }

    [Fact]
    public void A_step_that_never_gets_its_rows_times_out_and_rolls_back_saying_how_many_it_saw()
    {
        var clock = new ManualClock();
        var rollout = new Rollout("v1", "v2", s_options, clock: clock);
        Feed(rollout, new Random(3), championRows: 100, candidateRows: 100, candidateQuality: 0.75);
        clock.Advance(TimeSpan.FromMinutes(29));
        Assert.Null(rollout.Tick());
        clock.Advance(TimeSpan.FromMinutes(1));
        var back = rollout.Tick()!;
        Assert.Equal(RolloutPhase.RolledBack, back.Phase);
        Assert.Contains("timed out after 30 min with 100 of 500 candidate rows", back.Reason);
    }

    [Fact]
    public void The_last_step_waits_for_labels_before_promoting()
    {
        var options = new RolloutOptions { Steps = [0.1], MinRows = 100, MinDuration = TimeSpan.Zero, MaxDuration = TimeSpan.FromMinutes(10), MinLabels = 300 };
        var clock = new ManualClock();
        var rollout = new Rollout("v1", "v2", options, clock: clock);
        var random = new Random(4);
        FeedScores(rollout, random, 1000, 200);
        Assert.Null(rollout.Tick());
        Feed(rollout, random, championRows: 400, candidateRows: 400, candidateQuality: 0.75);
        Assert.Equal(RolloutPhase.Promoted, rollout.Tick()!.Phase);
    }

    [Fact]
    public void Cancel_returns_traffic_to_the_champion_and_stops_recording()
    {
        var target = new RecordingTarget();
        var rollout = new Rollout("v1", "v2", s_options, target, new ManualClock());
        Assert.Equal(RolloutPhase.Cancelled, rollout.Cancel("by test")!.Phase);
        Assert.Null(rollout.Cancel("again"));
        Feed(rollout, new Random(5), 100, 100, 0.75);
        Assert.Equal(0, rollout.Seen(RolloutRole.Candidate).Rows);
        Assert.Equal(["shadow", "cancelled"], target.Seen.Select(t => t.Action));
    }

    [Theory]
    [InlineData(new[] { 0.05, 1.0 }, "steps[1] is 1")]
    [InlineData(new[] { 0.25, 0.05 }, "steps[1] (0.05) is below the step before it")]
    [InlineData(new double[0], "at least one step")]
    public void Bad_steps_are_refused_naming_the_step(double[] steps, string message)
    {
        var e = Assert.Throws<RolloutException>(() => new Rollout("a", "b", new RolloutOptions { Steps = steps }));
        Assert.Contains(message, e.Message);
    }

    /// <summary>Rows whose label is 1 with probability p; the champion's score is p plus noise (AUC about 0.75), the
    /// candidate's is p mixed with noise by <paramref name="candidateQuality"/> (0.75: as good; lower: worse).</summary>
    private static void Feed(Rollout rollout, Random random, int championRows, int candidateRows, double candidateQuality)
    {
        var options = rollout.Options;
        var champion = new RolloutWindow(options);
        var candidate = new RolloutWindow(options);
        for (var i = 0; i < Math.Max(championRows, candidateRows); i++)
        {
            var p = random.NextDouble();
            var y = random.NextDouble() < p ? 1 : 0;
            if (i < championRows) Observe(champion, Math.Clamp(0.75 * p + 0.25 * random.NextDouble(), 0, 1), y);
            if (i < candidateRows) Observe(candidate, Math.Clamp(candidateQuality * p + (1 - candidateQuality) * random.NextDouble(), 0, 1), y);
        }
        rollout.Record(RolloutRole.Champion, champion);
        rollout.Record(RolloutRole.Candidate, candidate);

        static void Observe(RolloutWindow w, double score, int label)
        {
            w.AddScore(score);
            w.AddOutcome(score, label);
            w.AddLatency(0.001);
        }
    }

    private static void FeedScores(Rollout rollout, Random random, int championRows, int candidateRows)
    {
        var champion = new RolloutWindow(rollout.Options);
        var candidate = new RolloutWindow(rollout.Options);
        for (var i = 0; i < championRows; i++) champion.AddScore(random.NextDouble());
        for (var i = 0; i < candidateRows; i++) candidate.AddScore(random.NextDouble());
        rollout.Record(RolloutRole.Champion, champion);
        rollout.Record(RolloutRole.Candidate, candidate);
    }

    private sealed class RecordingTarget : IRolloutTarget
    {
        public List<RolloutTransition> Seen { get; } = [];

        public void Apply(RolloutTransition transition) => Seen.Add(transition);
    }
}

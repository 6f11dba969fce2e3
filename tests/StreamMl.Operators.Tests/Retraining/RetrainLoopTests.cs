using System.Globalization;
using StreamMl.Engine;
using StreamMl.Operators.Learners;
using StreamMl.Operators.Retraining;
using StreamMl.Operators.Rollouts;
using StreamMl.Operators.Scoring;
using StreamMl.Testing;
using Xunit.Abstractions;

namespace StreamMl.Operators.Tests.Retraining;

/// <summary>The retrain loop composed from operators only: a <see cref="ScoringOperator"/> serves the champion, a
/// <see cref="RolloutOperator"/> and a <see cref="RetrainWindowOperator"/> follow it; the test's host trains with
/// <see cref="RetrainGate"/> (logistic regression, the champion's recipe), "registers" into an in-memory history and
/// rolls out with <see cref="ScoringRolloutTarget"/>. Time is a manual clock: 30 s per batch of 1,000 rows.</summary>
public sealed class RetrainLoopTests(ITestOutputHelper output)
{
    private static readonly TimeSpan s_batchTime = TimeSpan.FromSeconds(30);

    private static readonly RolloutOptions s_rollout = new()
    {
        Steps = [0, 0.25],
        MinRows = 400,
        MinDuration = TimeSpan.FromMinutes(2),
        MaxDuration = TimeSpan.FromMinutes(60),
        MinLabels = 300,
        MaxScorePsi = 10, // the models answer different questions after the drift; labels decide
        MaxScoreKs = 1,
        MaxLatencyRatio = 100, // wall-clock latency on a shared machine; the guardrail has its own tests
    };

    [Fact]
    public async Task Concept_drift_drops_the_champions_auc_and_the_retrained_challenger_is_promoted_through_shadow_and_canary()
    {
        using var world = new World(output, new RetrainOptions
        {
            On = new RetrainTriggerOptions { Metric = "auc", Below = 0.7, For = TimeSpan.FromMinutes(2) },
            WindowRows = 5000,
            MinRows = 2000,
            MetricRows = 1000,
            Cooldown = TimeSpan.FromMinutes(30),
            Gate = new RetrainGateOptions { Margin = 0.02, Folds = 5 },
            Rollout = s_rollout,
        });
        // 10 batches (5 min) before the drift, then the new concept.
        await world.RunAsync(batches: 60, driftFromBatch: 10, until: l => l.History.Any(e => e.Action == "retrain-promoted"));

        Assert.Equal(["retrain-triggered", "retrain-trained", "retrain-registered", "rollout-shadow", "rollout-canary", "rollout-promoted", "retrain-promoted"],
            world.History.Select(e => e.Action));
        var triggered = world.Loop.History[0];
        Assert.StartsWith("metric: auc", triggered.Reason);
        // The window the challenger learned from holds only rows after the drift (rows 10,001 on).
        Assert.True(world.Requests[0].FirstRow > 10_000, $"window starts at row {world.Requests[0].FirstRow}");
        var gate = world.Gates[0];
        Assert.True(gate.Passed);
        Assert.True(gate.HeldOutChallenger > gate.HeldOutChampion + 0.1, gate.Summary);
        Assert.Equal("challenger-1", world.Serving.Name);
        Assert.Empty(world.Scorer.Shadows);
        Assert.Equal([world.Serving], world.Scorer.Variants.Select(v => v.Model));
        // Every retrain event carries the parent; those after registration the candidate.
        Assert.All(world.Loop.History, e => Assert.Equal("champion", e.Champion));
        Assert.All(world.Loop.History.Skip(2), e => Assert.Equal("challenger-1", e.Candidate));
        // After the promotion the live metric restarts on the new model's scores, which are good again: no second retrain.
        world.Clock.Advance(TimeSpan.FromHours(1));
        await world.RunAsync(batches: 10, driftFromBatch: 0, until: _ => false);
        Assert.Single(world.History, e => e.Action == "retrain-triggered");
        Assert.True(world.Loop.Trigger.LastMetric > 0.75, $"live AUC after the promotion {world.Loop.Trigger.LastMetric}");
    }

    [Fact]
    public async Task A_challenger_that_does_not_beat_the_champion_is_rejected_recorded_and_not_rolled_out()
    {
        using var world = new World(output, new RetrainOptions
        {
            On = new RetrainTriggerOptions { Every = TimeSpan.FromMinutes(10) },
            WindowRows = 5000,
            MinRows = 2000,
            Cooldown = TimeSpan.FromMinutes(30),
            Gate = new RetrainGateOptions { Margin = 0.01, Folds = 5 },
            Rollout = s_rollout,
        });
        // No drift: a challenger trained on the same concept is not better by the margin.
        await world.RunAsync(batches: 30, driftFromBatch: int.MaxValue, until: l => l.State == RetrainState.CoolingDown);

        Assert.Equal(["retrain-triggered", "retrain-trained", "retrain-rejected"], world.History.Select(e => e.Action));
        Assert.StartsWith("schedule: every 10m", world.History[0].Reason);
        Assert.Contains("challenger does not beat the champion", world.History[2].Reason);
        Assert.Empty(world.Registered);
        Assert.Equal("champion", world.Serving.Name);
        Assert.Empty(world.Scorer.Shadows);
        Assert.False(world.Gates[0].Passed);
        Assert.True(world.Gates[0].Folds.MeanImprovement < 0.01, world.Gates[0].Summary);

        // The cooldown holds the next scheduled retrain back, then lets it run.
        await world.RunAsync(batches: 80, driftFromBatch: int.MaxValue, until: l => l.History.Count(e => e.Action == "retrain-triggered") == 2);
        var second = world.History.Where(e => e.Action == "retrain-triggered").ElementAt(1);
        Assert.True(second.At - world.History[2].At >= TimeSpan.FromMinutes(30), $"second retrain {second.At - world.History[2].At} after the first ended");
    }

    [Fact]
    public async Task A_failing_training_is_an_event_and_only_one_retrain_is_in_flight()
    {
        var clock = new ManualClock();
        var window = new RetrainWindow(SensorStream.Features, 100);
        var training = new TaskCompletionSource<RetrainCandidate>(TaskCreationOptions.RunContinuationsAsynchronously);
        var host = new ScriptedHost(() => training.Task);
        using var loop = new RetrainLoop(new RetrainOptions { On = new RetrainTriggerOptions { Alert = "sensors" }, WindowRows = 100, MinRows = 10, MetricRows = 10, Cooldown = TimeSpan.FromMinutes(5) },
            window, host, () => "champion", clock);
        var set = SensorStream.Rows(50, 1, drifted: false);
        loop.Trigger.ReportAlert(new StreamMl.Operators.Monitoring.Alert { Kind = "anomaly", Key = "", EventTime = 0, Column = "temperature", Detector = "psi", Message = "x", Monitor = "sensors" });
        loop.Tick();
        Assert.Equal(["retrain-waiting"], host.Events.Select(e => e.Action)); // the window is still empty
        window.Append(set.Features, set.Labels, new float[50]);
        loop.Tick();
        Assert.Equal(RetrainState.Training, loop.State);
        loop.Trigger.ReportAlert(new StreamMl.Operators.Monitoring.Alert { Kind = "anomaly", Key = "", EventTime = 0, Column = "temperature", Detector = "psi", Message = "again", Monitor = "sensors" });
        loop.Tick();
        loop.Tick();
        await Eventually.TrueAsync(() => host.Trainings == 1, "the training to start in the background");
        Assert.Equal(1, host.Trainings);
        Assert.Single(host.Events, e => e.Action == "retrain-triggered");
        training.SetException(new InvalidDataException("disk full while writing the window"));
        await Eventually.TrueAsync(() => { loop.Tick(); return loop.State == RetrainState.CoolingDown; }, "the failed training to be collected");
        Assert.Equal(["retrain-waiting", "retrain-triggered", "retrain-failed"], host.Events.Select(e => e.Action));
        Assert.Contains("training failed: disk full while writing the window", host.Events[^1].Reason);
        // The alert that came during the failed run is still pending: after the cooldown it starts the next retrain.
        training = new TaskCompletionSource<RetrainCandidate>(TaskCreationOptions.RunContinuationsAsynchronously);
        clock.Advance(TimeSpan.FromMinutes(5));
        loop.Tick();
        await Eventually.TrueAsync(() => host.Trainings == 2, "the next retrain to start after the cooldown");
        Assert.Equal(RetrainState.Training, loop.State);
    }

    /// <summary>A host whose training is given by the test.</summary>
    private sealed class ScriptedHost(Func<Task<RetrainCandidate>> train) : IRetrainHost
    {
        public List<RetrainEvent> Events { get; } = [];

        private int _trainings;

        public int Trainings => Volatile.Read(ref _trainings);

        public Task<RetrainCandidate> TrainAsync(RetrainRequest request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _trainings);
            return train();
        }

        public string Register(RetrainRequest request, RetrainCandidate candidate) => throw new InvalidOperationException("not expected");

        public Rollout StartRollout(string candidate, RolloutOptions options) => throw new InvalidOperationException("not expected");

        public void Record(RetrainEvent retrainEvent) => Events.Add(retrainEvent);
    }

    /// <summary>The pipeline, the champion, the host and the history of one test.</summary>
    private sealed class World : IRetrainHost, IDisposable
    {
        private readonly ITestOutputHelper _output;
        private readonly TrainingSet _reference = SensorStream.Rows(1000, seed: 1, drifted: false);
        private readonly RolloutOperator _observer = new("probability", labelColumn: "failure");
        private readonly RetrainWindowOperator _windowOperator;
        private readonly ColumnBatch _batch;
        private readonly Random _random = new(42);
        private readonly List<OnnxModel> _models = [];
        private readonly DateTimeOffset _start;
        private long _nextId;
        private int _batchNumber;

        public World(ITestOutputHelper output, RetrainOptions options)
        {
            _output = output;
            var champion = new MlNetLearner(LearningTask.Binary, new LearnerOptions { Trainer = "lr" }).Fit(SensorStream.Rows(3000, seed: 1, drifted: false));
            Serving = Load(SensorStream.Onnx(champion), "champion");
            Scorer = new ScoringOperator(Serving, new ScoringOptions
            {
                FeatureColumns = SensorStream.Features, RoutingKeyColumn = "id", ShadowRecorder = _observer, ShadowScoreColumn = "probability",
            });
            var window = new RetrainWindow(SensorStream.Features, options.WindowRows);
            _windowOperator = new RetrainWindowOperator(window, "failure", "probability");
            var schema = _windowOperator.Bind(_observer.Bind(Scorer.Bind(SensorStream.Schema)));
            _batch = new ColumnBatch(schema, 1000);
            _start = Clock.GetUtcNow();
            Loop = new RetrainLoop(options, window, this, () => Serving.Name, Clock);
        }

        public ManualClock Clock { get; } = new();

        public RetrainLoop Loop { get; }

        public ScoringOperator Scorer { get; }

        public OnnxModel Serving { get; private set; }

        public List<RetrainEvent> History { get; } = [];

        public List<RetrainRequest> Requests { get; } = [];

        public List<RetrainGateResult> Gates { get; } = [];

        public List<string> Registered { get; } = [];

        /// <summary>Streams batches through scoring, the rollout observer and the window, ticking the rollout and the
        /// loop after each; while a challenger trains, the stream goes on (one batch is processed with training in
        /// flight), then the test waits for the training so the timeline does not depend on the machine.</summary>
        public async Task RunAsync(int batches, int driftFromBatch, Func<RetrainLoop, bool> until)
        {
            var context = StageContext.Standalone("pipeline");
            for (var i = 0; i < batches && !until(Loop); i++)
            {
                SensorStream.Fill(_batch, _random, _nextId, drifted: _batchNumber >= driftFromBatch);
                _nextId += _batch.Length;
                _batchNumber++;
                Scorer.Score(_batch);
                _observer.Process(_batch, context);
                _windowOperator.Process(_batch, context);
                Clock.Advance(s_batchTime);
                Loop.Rollout?.Tick();
                Loop.Tick();
                if (Loop.Training is { } training)
                {
                    Assert.Equal(RetrainState.Training, Loop.State); // Tick returned while the challenger trains
                    await Eventually.CompletesAsync(training.ContinueWith(_ => { }, TaskScheduler.Default), "the challenger's training", TimeSpan.FromMinutes(2));
                }
            }
        }

        public Task<RetrainCandidate> TrainAsync(RetrainRequest request, CancellationToken cancellationToken)
        {
            Requests.Add(request);
            var learner = new MlNetLearner(LearningTask.Binary, new LearnerOptions { Trainer = "lr" });
            var champion = _models.Single(m => m.Name == request.Champion);
            using var championMatrix = OnnxMatrixModel.Load(ModelBytes[champion.Name], champion.Name);
            var (gate, challenger) = RetrainGate.Run(learner, request.Window, _reference, rows => championMatrix.Predict(rows, LearningTask.Binary), request.Gate, cancellationToken);
            Gates.Add(gate);
            return Task.FromResult(new RetrainCandidate(gate, SensorStream.Onnx(challenger)));
        }

        public string Register(RetrainRequest request, RetrainCandidate candidate)
        {
            var name = $"challenger-{Registered.Count + 1}";
            Load((byte[])candidate.Model!, name);
            Registered.Add(name);
            return name;
        }

        public Rollout StartRollout(string candidate, RolloutOptions options)
        {
            var champion = Serving;
            var challenger = _models.Single(m => m.Name == candidate);
            var rollout = new Rollout(champion.Name, candidate, options, new ScoringRolloutTarget(Scorer, champion, challenger, t =>
            {
                History.Add(new RetrainEvent(t.At, "rollout-" + t.Action, t.Reason, champion.Name, candidate));
                if (t.Phase == RolloutPhase.Promoted) Serving = challenger;
            }), Clock);
            _observer.Active = rollout;
            return rollout;
        }

        public void Record(RetrainEvent retrainEvent) => History.Add(retrainEvent);

        private Dictionary<string, byte[]> ModelBytes { get; } = [];

        private OnnxModel Load(byte[] bytes, string name)
        {
            var model = OnnxModel.FromBytes(bytes, name);
            ModelBytes[name] = bytes;
            _models.Add(model);
            return model;
        }

        public void Dispose()
        {
            foreach (var e in History)
                _output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"+{(e.At - _start).TotalMinutes,5:F1} min {e.Action,-19} {e.Reason}"));
            Loop.Dispose();
            _batch.Dispose();
            Scorer.Dispose();
            foreach (var m in _models) m.Dispose();
        }
    }
}

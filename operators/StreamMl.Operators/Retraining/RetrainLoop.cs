using System.Globalization;
using StreamMl.Operators.Rollouts;

namespace StreamMl.Operators.Retraining;

/// <summary>Closes the loop from monitoring to a new model: on each <see cref="Tick"/> (a timer, or a test driving a
/// manual clock) it feeds the live metric to the trigger and, when a retrain is due and the window holds enough rows,
/// copies the window and trains a challenger in the background (<see cref="IRetrainHost.TrainAsync"/>); a challenger
/// that beats the champion is registered and rolled out (shadow first, promoted only by the rollout's guardrails on
/// labelled rows); one that does not is rejected. Every step is a <see cref="RetrainEvent"/> given to
/// <see cref="IRetrainHost.Record"/>. At most one retrain is in flight; after each one ends (promoted, rolled back,
/// rejected or failed) none starts for <see cref="RetrainOptions.Cooldown"/>. Failures become events, never exceptions.
/// <see cref="Tick"/> is called from one thread at a time.</summary>
public sealed class RetrainLoop : IDisposable
{
    private readonly Lock _lock = new();
    private readonly RetrainOptions _options;
    private readonly RetrainWindow _window;
    private readonly IRetrainHost _host;
    private readonly Func<string> _champion;
    private readonly TimeProvider _clock;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<RetrainEvent> _history = [];
    private RetrainState _state;
    private DateTimeOffset _coolUntil;
    private RetrainRequest? _request;
    private Task<RetrainCandidate>? _training;
    private string? _candidate;
    private Rollout? _rollout;
    private string? _waitingFor;

    /// <summary>A loop over <paramref name="window"/>; <paramref name="champion"/> names the serving model when a retrain
    /// starts.</summary>
    public RetrainLoop(RetrainOptions options, RetrainWindow window, IRetrainHost host, Func<string> champion, TimeProvider? clock = null)
    {
        options.Validate();
        _options = options;
        _window = window;
        _host = host;
        _champion = champion;
        _clock = clock ?? TimeProvider.System;
        Trigger = new RetrainTrigger(options.On, _clock);
    }

    /// <summary>The trigger; report drift and alerts to it.</summary>
    public RetrainTrigger Trigger { get; }

    /// <summary>The window trained on.</summary>
    public RetrainWindow Window => _window;

    /// <summary>The settings.</summary>
    public RetrainOptions Options => _options;

    /// <summary>Where the loop is.</summary>
    public RetrainState State { get { lock (_lock) return _state; } }

    /// <summary>The background training in flight, or null.</summary>
    public Task? Training { get { lock (_lock) return _state == RetrainState.Training ? _training : null; } }

    /// <summary>The rollout of the current challenger, or null.</summary>
    public Rollout? Rollout { get { lock (_lock) return _rollout; } }

    /// <summary>Every step so far, oldest first.</summary>
    public IReadOnlyList<RetrainEvent> History { get { lock (_lock) return _history.ToArray(); } }

    /// <summary>Moves the loop on: checks the trigger, collects a finished training run, notices a finished rollout.</summary>
    public void Tick()
    {
        lock (_lock)
        {
            if (_stop.IsCancellationRequested) return;
            var now = _clock.GetUtcNow();
            if (_state == RetrainState.CoolingDown && now >= _coolUntil) _state = RetrainState.Idle;
            switch (_state)
            {
                case RetrainState.Idle: Watch(now); break;
                case RetrainState.Training: Collect(now); break;
                case RetrainState.RollingOut: Follow(now); break;
            }
        }
    }

    private void Watch(DateTimeOffset now)
    {
        if (_options.On.Metric is { } metric && _window.RecentScores(_options.MetricRows) is { } recent)
            Trigger.ReportMetric(RetrainTrigger.Compute(metric, recent.Scores, recent.Labels));
        var reason = Trigger.Due();
        if (reason is null) return;
        var held = _window.Count;
        if (held < _options.MinRows)
        {
            // Said once per reason, not on every tick while the labels come in.
            if (_waitingFor != reason) Emit(now, "retrain-waiting", $"{reason}; the window holds {held} of the {_options.MinRows} labelled rows needed", Champion(), null);
            _waitingFor = reason;
            return;
        }
        _waitingFor = null;
        var (rows, first, last) = _window.Snapshot();
        _request = new RetrainRequest
        {
            Trigger = reason, TriggeredAt = now, Champion = Champion(), Window = rows, FirstRow = first, LastRow = last, Gate = _options.Gate,
        };
        Trigger.Restart();
        Emit(now, "retrain-triggered", $"{reason}; training on {_request.DataWindow} ({rows.Rows} rows)", _request.Champion, null);
        var request = _request;
        var token = _stop.Token;
        _training = Task.Run(() => _host.TrainAsync(request, token), token);
        _state = RetrainState.Training;
    }

    private void Collect(DateTimeOffset now)
    {
        if (!_training!.IsCompleted) return;
        var request = _request!;
        if (!_training.IsCompletedSuccessfully)
        {
            var error = _training.Exception?.InnerException?.Message ?? "training was cancelled";
            End(now, "retrain-failed", $"training failed: {error}", null);
            return;
        }
        var candidate = _training.Result;
        Emit(now, "retrain-trained", candidate.Gate.Summary, request.Champion, null);
        if (!candidate.Gate.Passed)
        {
            End(now, "retrain-rejected", $"not registered: {candidate.Gate.Summary}", null);
            return;
        }
        try
        {
            _candidate = _host.Register(request, candidate);
            Emit(now, "retrain-registered", $"registered as {_candidate} (parent {request.Champion}, trigger {request.Trigger}, {request.DataWindow})", request.Champion, _candidate);
            _rollout = _host.StartRollout(_candidate, _options.Rollout);
            _state = RetrainState.RollingOut;
        }
        // The host's callbacks touch disks, registries and model runtimes; whatever they throw is this retrain's
        // failure, recorded, and the pipeline goes on with its champion.
        catch (Exception e)
        {
            End(now, "retrain-failed", $"{(_candidate is null ? "registering" : "starting the rollout of")} the challenger failed: {e.Message}", _candidate);
        }
    }

    private void Follow(DateTimeOffset now)
    {
        var rollout = _rollout!;
        if (!rollout.IsFinished) return;
        var last = rollout.Current;
        if (last.Phase == RolloutPhase.Promoted)
        {
            // The old champion's scores in the window no longer describe the serving model.
            _window.RestartMetric();
            End(now, "retrain-promoted", $"{_candidate} replaced {_request!.Champion}: {last.Reason}", _candidate);
        }
        else End(now, last.Phase == RolloutPhase.RolledBack ? "retrain-rolled-back" : "retrain-cancelled", $"{_candidate} stays a candidate: {last.Reason}", _candidate);
    }

    private void End(DateTimeOffset now, string action, string reason, string? candidate)
    {
        _coolUntil = now + _options.Cooldown;
        _state = RetrainState.CoolingDown;
        Emit(now, action, reason + string.Create(CultureInfo.InvariantCulture, $"; next retrain not before {_coolUntil:yyyy-MM-dd HH:mm:ss}Z"),
            _request?.Champion ?? Champion(), candidate);
        _training = null;
        _rollout = null;
        _candidate = null;
    }

    private void Emit(DateTimeOffset now, string action, string reason, string champion, string? candidate)
    {
        var retrainEvent = new RetrainEvent(now, action, reason, champion, candidate);
        _history.Add(retrainEvent);
        try
        {
            _host.Record(retrainEvent);
        }
        // Losing a history line (a registry on a full disk) must not stop the loop; the event stays in History.
        catch (Exception e)
        {
            _history.Add(new RetrainEvent(now, "retrain-record-failed", $"could not record {action}: {e.Message}", champion, candidate));
        }
    }

    private string Champion() => _champion();

    /// <summary>Stops the loop: a training run in flight is cancelled; a rollout in flight is left to its owner.</summary>
    public void Dispose()
    {
        _stop.Cancel();
        _stop.Dispose();
    }
}

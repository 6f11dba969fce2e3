namespace StreamMl.Operators.Rollouts;

/// <summary>A candidate model's progressive rollout: a shadow step, canary steps at growing traffic shares, then
/// promotion. Observations (scores, errors, latencies, labelled outcomes) come in from scoring threads through
/// <see cref="Record"/>; <see cref="Tick"/>, called by a timer or a test, judges the current step once it has
/// lasted <see cref="RolloutOptions.MinDuration"/> with <see cref="RolloutOptions.MinRows"/> candidate rows (and, at the
/// last step, the labels it waits for): all guardrails pass → next step or promotion; a guardrail fails → roll back
/// at once, even before the minimum time; minimums not met within <see cref="RolloutOptions.MaxDuration"/> → roll back.
/// Scores, errors and latencies are judged per step; labelled outcomes accumulate over the whole rollout, because labels
/// arrive slowly. Time comes from a <see cref="TimeProvider"/>, so tests drive it. Thread-safe.</summary>
public sealed class Rollout
{
    private readonly Lock _lock = new();
    private readonly RolloutOptions _options;
    private readonly IRolloutTarget? _target;
    private readonly TimeProvider _clock;
    private readonly RolloutWindow _champion;
    private readonly RolloutWindow _candidate;
    private readonly List<RolloutTransition> _history = [];
    private DateTimeOffset _stepStarted;

    /// <summary>Creates a rollout in its first step (and applies that step to <paramref name="target"/>).</summary>
    public Rollout(string champion, string candidate, RolloutOptions options, IRolloutTarget? target = null, TimeProvider? clock = null)
    {
        options.Validate();
        Champion = champion;
        Candidate = candidate;
        _options = options;
        _target = target;
        _clock = clock ?? TimeProvider.System;
        _champion = new RolloutWindow(options);
        _candidate = new RolloutWindow(options);
        Enter(0, $"rollout of {candidate} against {champion} started");
        Publish(_history[^1]);
    }

    /// <summary>The serving model's name.</summary>
    public string Champion { get; }

    /// <summary>The rolled-out model's name.</summary>
    public string Candidate { get; }

    /// <summary>The settings.</summary>
    public RolloutOptions Options => _options;

    /// <summary>The last transition.</summary>
    public RolloutTransition Current { get { lock (_lock) return _history[^1]; } }

    /// <summary>Every transition, oldest first.</summary>
    public IReadOnlyList<RolloutTransition> History { get { lock (_lock) return _history.ToArray(); } }

    /// <summary>True once promoted, rolled back or cancelled.</summary>
    public bool IsFinished => Current.IsFinal;

    /// <summary>The guardrails over the current step's data now (for status displays; decides nothing).</summary>
    public GuardrailReport Peek()
    {
        lock (_lock) return Guardrails.Evaluate(_options, _champion, _candidate);
    }

    /// <summary>(rows, labelled rows) seen in the current step by <paramref name="role"/>.</summary>
    public (long Rows, long Labelled) Seen(RolloutRole role)
    {
        lock (_lock)
        {
            var w = role == RolloutRole.Champion ? _champion : _candidate;
            return (w.Rows, w.Labelled);
        }
    }

    /// <summary>Adds a window of observations of <paramref name="role"/> (a scoring thread's batch) and clears it.
    /// Ignored once the rollout has finished.</summary>
    public void Record(RolloutRole role, RolloutWindow observations)
    {
        lock (_lock)
        {
            if (!_history[^1].IsFinal) (role == RolloutRole.Champion ? _champion : _candidate).Merge(observations);
        }
        observations.Clear();
    }

    /// <summary>Judges the current step; returns the transition it made, or null when the step goes on.</summary>
    public RolloutTransition? Tick()
    {
        RolloutTransition? made;
        lock (_lock) made = Decide();
        if (made is not null) Publish(made);
        return made;
    }

    /// <summary>Stops the rollout: the champion answers everything again. Returns the transition, or null when it had
    /// already finished.</summary>
    public RolloutTransition? Cancel(string reason)
    {
        RolloutTransition made;
        lock (_lock)
        {
            if (_history[^1].IsFinal) return null;
            made = new RolloutTransition(_clock.GetUtcNow(), RolloutPhase.Cancelled, _history[^1].Step, 0, reason, null);
            _history.Add(made);
        }
        Publish(made);
        return made;
    }

    private RolloutTransition? Decide()
    {
        var current = _history[^1];
        if (current.IsFinal) return null;
        var now = _clock.GetUtcNow();
        var elapsed = now - _stepStarted;
        var step = current.Step;
        var last = step == _options.Steps.Count - 1;
        var report = Guardrails.Evaluate(_options, _champion, _candidate);
        var enoughRows = _candidate.Rows >= _options.MinRows;
        if (enoughRows && !report.Passed)
            return Add(new RolloutTransition(now, RolloutPhase.RolledBack, step, 0,
                $"step {step + 1} ({Describe(current.Weight)}) failed: {report.FailureReason}", report));
        var labelsNeeded = last && _options.MinLabels > 0;
        var enoughLabels = !labelsNeeded || (_candidate.Labelled >= _options.MinLabels && _champion.Labelled >= _options.MinLabels);
        if (enoughRows && enoughLabels && elapsed >= _options.MinDuration)
        {
            if (last)
                return Add(new RolloutTransition(now, RolloutPhase.Promoted, _options.Steps.Count, 1,
                    $"all {_options.Steps.Count} steps passed; promoted to all traffic", report));
            return Enter(step + 1, $"step {step + 1} ({Describe(current.Weight)}) passed after {_candidate.Rows} candidate rows in {elapsed.TotalSeconds:F0} s", report);
        }
        if (elapsed >= _options.MaxDuration)
        {
            var missing = !enoughRows
                ? $"{_candidate.Rows} of {_options.MinRows} candidate rows"
                : $"{_candidate.Labelled} candidate and {_champion.Labelled} champion labelled rows of {_options.MinLabels}";
            return Add(new RolloutTransition(now, RolloutPhase.RolledBack, step, 0,
                $"step {step + 1} ({Describe(current.Weight)}) timed out after {elapsed.TotalMinutes:F0} min with {missing}", report));
        }
        return null;
    }

    private RolloutTransition Enter(int step, string reason, GuardrailReport? report = null)
    {
        _stepStarted = _clock.GetUtcNow();
        _champion.ClearTraffic();
        _candidate.ClearTraffic();
        var weight = _options.Steps[step];
        return Add(new RolloutTransition(_stepStarted, weight == 0 ? RolloutPhase.Shadow : RolloutPhase.Canary, step, weight, reason, report));
    }

    private RolloutTransition Add(RolloutTransition transition)
    {
        _history.Add(transition);
        return transition;
    }

    private void Publish(RolloutTransition transition) => _target?.Apply(transition);

    private static string Describe(double weight) => weight == 0 ? "shadow" : FormattableString.Invariant($"{weight * 100:G3}% canary");
}

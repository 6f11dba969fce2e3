namespace StreamMl.Operators.Rollouts;

/// <summary>A candidate model's progressive rollout: a shadow step, canary steps at growing traffic shares, then
/// promotion. Observations (scores, errors, latencies, labelled outcomes) come in from scoring threads through
/// <see cref="Record"/>; <see cref="Tick"/>, called by a timer or a test, judges the current step once it has
/// lasted <see cref="RolloutOptions.MinDuration"/> with <see cref="RolloutOptions.MinRows"/> candidate rows (and, at the
/// last step, the labels it waits for): all guardrails pass → next step or promotion; a guardrail fails → roll back
/// at once, even before the minimum time; minimums not met within <see cref="RolloutOptions.MaxDuration"/> → roll back.
/// Scores, errors and latencies are judged per step; labelled outcomes accumulate over the whole rollout, because labels
/// arrive slowly. Time comes from a <see cref="TimeProvider"/>, so tests drive it. Given an <see cref="IRolloutLedger"/>,
/// the rollout is shared by replicas: each publishes its observations there, judges over all of them, and follows
/// whichever replica appended a step's decision first. Thread-safe.</summary>
public sealed class Rollout
{
    private readonly Lock _lock = new();
    private readonly RolloutOptions _options;
    private readonly IRolloutTarget? _target;
    private readonly TimeProvider _clock;
    private readonly IRolloutLedger? _ledger;
    private readonly Lock _ledgerGate = new(); // one shared tick or cancel at a time; held while the ledger's files are used
    private readonly RolloutWindow _champion;
    private readonly RolloutWindow _candidate;
    private readonly List<RolloutTransition> _history = [];
    private DateTimeOffset _stepStarted;

    /// <summary>Creates a rollout in its first step (and applies that step to <paramref name="target"/>). With a
    /// <paramref name="ledger"/> the rollout is shared by every replica that opens the same ledger: the first one
    /// appends the start, the others follow it (see <see cref="Tick"/>).</summary>
    public Rollout(string champion, string candidate, RolloutOptions options, IRolloutTarget? target = null, TimeProvider? clock = null,
        IRolloutLedger? ledger = null)
    {
        options.Validate();
        Champion = champion;
        Candidate = candidate;
        _options = options;
        _target = target;
        _clock = clock ?? TimeProvider.System;
        _ledger = ledger;
        _champion = new RolloutWindow(options);
        _candidate = new RolloutWindow(options);
        var start = StepTransition(0, _clock.GetUtcNow(), $"rollout of {candidate} against {champion} started", null);
        if (ledger is null || ledger.Read().Count == 0 && ledger.TryAppend(0, start)) Adopt(start);
        else Follow(ledger, null);
        Publish(_history[^1]);
    }

    /// <summary>The serving model's name.</summary>
    public string Champion { get; }

    /// <summary>The rolled-out model's name.</summary>
    public string Candidate { get; }

    /// <summary>The ledger shared with other replicas, or null for a rollout of this process alone.</summary>
    public IRolloutLedger? Ledger => _ledger;

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

    /// <summary>Judges the current step; returns the transition it made, or null when the step goes on. With a ledger it
    /// first follows the transitions other replicas appended, publishes this replica's observations, judges the step
    /// over every replica's observations and appends its decision; when another replica appended first, it follows that
    /// one instead (and returns it).</summary>
    public RolloutTransition? Tick()
    {
        var followed = new List<RolloutTransition>();
        RolloutTransition? made;
        if (_ledger is null)
            lock (_lock)
            {
                made = Decide(_champion, _candidate);
                if (made is not null) Adopt(made);
            }
        else
            lock (_ledgerGate) made = TickShared(_ledger, followed);
        foreach (var t in followed) Publish(t);
        if (made is not null) Publish(made);
        return made ?? (followed.Count > 0 ? followed[^1] : null);
    }

    /// <summary>One shared tick. The ledger's files are read and written outside <see cref="_lock"/>, which scoring
    /// threads take for every batch (<see cref="Record"/>): they never wait on the file system.</summary>
    private RolloutTransition? TickShared(IRolloutLedger ledger, List<RolloutTransition> followed)
    {
        Follow(ledger, followed);
        int index;
        var ownChampion = new RolloutWindow(_options);
        var ownCandidate = new RolloutWindow(_options);
        lock (_lock)
        {
            if (_history[^1].IsFinal) return null;
            index = _history.Count - 1;
            ownChampion.Merge(_champion);
            ownCandidate.Merge(_candidate);
        }
        ledger.Publish(index, ownChampion, ownCandidate);
        var champion = new RolloutWindow(_options);
        var candidate = new RolloutWindow(_options);
        ledger.Gather(index, champion, candidate);
        RolloutTransition? decided;
        lock (_lock) decided = Decide(champion, candidate);
        if (decided is null) return null;
        if (ledger.TryAppend(index + 1, decided))
        {
            lock (_lock) Adopt(decided);
            return decided;
        }
        Follow(ledger, followed);
        return null;
    }

    /// <summary>Takes over the ledger's transitions this rollout has not seen yet (the file is read outside
    /// <see cref="_lock"/>).</summary>
    private void Follow(IRolloutLedger ledger, List<RolloutTransition>? followed)
    {
        var shared = ledger.Read();
        lock (_lock)
            for (var i = _history.Count; i < shared.Count; i++)
            {
                Adopt(shared[i]);
                followed?.Add(shared[i]);
            }
    }

    /// <summary>Stops the rollout: the champion answers everything again. Returns the transition, or null when it had
    /// already finished.</summary>
    public RolloutTransition? Cancel(string reason)
    {
        var followed = new List<RolloutTransition>();
        RolloutTransition? made = null;
        if (_ledger is null)
            lock (_lock)
            {
                if (!_history[^1].IsFinal)
                {
                    made = new RolloutTransition(_clock.GetUtcNow(), RolloutPhase.Cancelled, _history[^1].Step, 0, reason, null);
                    Adopt(made);
                }
            }
        else
            lock (_ledgerGate)
            {
                Follow(_ledger, followed);
                RolloutTransition cancel;
                int index;
                lock (_lock)
                {
                    index = _history.Count;
                    cancel = new RolloutTransition(_clock.GetUtcNow(), RolloutPhase.Cancelled, _history[^1].Step, 0, reason, null);
                    if (_history[^1].IsFinal) index = -1;
                }
                if (index >= 0)
                {
                    if (_ledger.TryAppend(index, cancel))
                    {
                        lock (_lock) Adopt(cancel);
                        made = cancel;
                    }
                    else Follow(_ledger, followed);
                }
            }
        foreach (var t in followed) Publish(t);
        if (made is not null) Publish(made);
        return made;
    }

    /// <summary>The transition the step's observations call for, or null while it goes on; changes nothing.</summary>
    private RolloutTransition? Decide(RolloutWindow championWindow, RolloutWindow candidateWindow)
    {
        var current = _history[^1];
        if (current.IsFinal) return null;
        var now = _clock.GetUtcNow();
        var elapsed = now - _stepStarted;
        var step = current.Step;
        var last = step == _options.Steps.Count - 1;
        var report = Guardrails.Evaluate(_options, championWindow, candidateWindow);
        var enoughRows = candidateWindow.Rows >= _options.MinRows;
        if (enoughRows && !report.Passed)
            return new RolloutTransition(now, RolloutPhase.RolledBack, step, 0,
                $"step {step + 1} ({Describe(current.Weight)}) failed: {report.FailureReason}", report);
        var labelsNeeded = last && _options.MinLabels > 0;
        var enoughLabels = !labelsNeeded || (candidateWindow.Labelled >= _options.MinLabels && championWindow.Labelled >= _options.MinLabels);
        if (enoughRows && enoughLabels && elapsed >= _options.MinDuration)
        {
            if (last)
                return new RolloutTransition(now, RolloutPhase.Promoted, _options.Steps.Count, 1,
                    $"all {_options.Steps.Count} steps passed; promoted to all traffic", report);
            return StepTransition(step + 1, now,
                $"step {step + 1} ({Describe(current.Weight)}) passed after {candidateWindow.Rows} candidate rows in {elapsed.TotalSeconds:F0} s", report);
        }
        if (elapsed >= _options.MaxDuration)
        {
            var missing = !enoughRows
                ? $"{candidateWindow.Rows} of {_options.MinRows} candidate rows"
                : $"{candidateWindow.Labelled} candidate and {championWindow.Labelled} champion labelled rows of {_options.MinLabels}";
            return new RolloutTransition(now, RolloutPhase.RolledBack, step, 0,
                $"step {step + 1} ({Describe(current.Weight)}) timed out after {elapsed.TotalMinutes:F0} min with {missing}", report);
        }
        return null;
    }

    private RolloutTransition StepTransition(int step, DateTimeOffset at, string reason, GuardrailReport? report)
    {
        var weight = _options.Steps[step];
        return new RolloutTransition(at, weight == 0 ? RolloutPhase.Shadow : RolloutPhase.Canary, step, weight, reason, report);
    }

    /// <summary>Makes <paramref name="transition"/> the current one; entering a step starts its clock and forgets the
    /// previous step's traffic (labelled outcomes stay).</summary>
    private void Adopt(RolloutTransition transition)
    {
        _history.Add(transition);
        if (transition.IsFinal) return;
        _stepStarted = transition.At;
        _champion.ClearTraffic();
        _candidate.ClearTraffic();
    }

    private void Publish(RolloutTransition transition) => _target?.Apply(transition);

    private static string Describe(double weight) => weight == 0 ? "shadow" : FormattableString.Invariant($"{weight * 100:G3}% canary");
}

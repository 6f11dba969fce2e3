using StreamMl.Host.Protos;
using StreamMl.Operators.Scoring;

namespace StreamMl.Host.Models;

/// <summary>Which model versions score a pipeline: the primary, an optional candidate with a traffic share (A/B),
/// shadows that score without answering, and the previous primary for rollback. Changes publish a new immutable
/// snapshot that the model stage (<see cref="VariantScoringOperator"/>) reads once per batch as a
/// <see cref="ScoringPlan"/>, so a deploy takes effect between two batches.</summary>
internal sealed class ModelDeployments : IScoringPlanSource
{
    private ScoringPlan _plan = ScoringPlan.Empty;

    private readonly object _gate = new();
    private volatile Snapshot _current = Snapshot.Empty;
    private long _labelled;
    private long _correct;
    private double _logLoss;
    private long _shadowRows;
    private long _shadowAgree;
    private ModelRollout? _rollout;

    internal sealed record Snapshot(ModelEntry? Primary, ModelEntry? Candidate, double CandidateTraffic, ModelEntry[] Shadows, ModelEntry? Previous)
    {
        public static readonly Snapshot Empty = new(null, null, 0, [], null);
    }

    public Snapshot Current => _current;

    /// <summary>The current snapshot and rollout as the model stage's plan (the snapshot is the plan's
    /// <see cref="ScoringPlan.Source"/>); the same instance until either changes, so a batch allocates nothing.</summary>
    public ScoringPlan Plan
    {
        get
        {
            var plan = Volatile.Read(ref _plan);
            var current = _current;
            var rollout = Rollout;
            if (ReferenceEquals(plan.Source, current) && ReferenceEquals(plan.Rollout?.Rollout, rollout?.Rollout)) return plan;
            plan = new ScoringPlan(current.Primary, current.Candidate, current.CandidateTraffic, current.Shadows,
                rollout is null ? null : new ScoringRollout(rollout.Rollout, rollout.Champion, rollout.Candidate), current);
            Volatile.Write(ref _plan, plan);
            return plan;
        }
    }

    /// <summary>Replaces the primary (traffic 0 or 1) or deploys a candidate with a share of the traffic.</summary>
    public Snapshot Deploy(ModelEntry entry, double candidateTraffic)
    {
        lock (_gate)
        {
            var s = _current;
            _current = candidateTraffic is > 0 and < 1
                ? s with { Candidate = entry, CandidateTraffic = candidateTraffic }
                : s with { Primary = entry, Previous = s.Primary ?? s.Previous, Candidate = null, CandidateTraffic = 0 };
            return _current;
        }
    }

    public Snapshot Promote()
    {
        lock (_gate)
        {
            var s = _current;
            if (s.Candidate is null) throw new Engine.StreamMlException("there is no candidate model to promote: deploy one with a traffic share between 0 and 1 first");
            _current = s with { Primary = s.Candidate, Previous = s.Primary, Candidate = null, CandidateTraffic = 0 };
            return _current;
        }
    }

    public Snapshot Rollback()
    {
        lock (_gate)
        {
            var s = _current;
            if (s.Previous is null) throw new Engine.StreamMlException("there is no previous model to roll back to");
            _current = s with { Primary = s.Previous, Previous = s.Primary, Candidate = null, CandidateTraffic = 0 };
            return _current;
        }
    }

    public Snapshot SetTraffic(double share)
    {
        if (share is < 0 or > 1 || double.IsNaN(share))
            throw new ArgumentOutOfRangeException(nameof(share), share, "the candidate's traffic share must be between 0 and 1");
        lock (_gate)
        {
            if (_current.Candidate is null) throw new Engine.StreamMlException("there is no candidate model: deploy one before setting a traffic split");
            _current = _current with { CandidateTraffic = share };
            return _current;
        }
    }

    /// <summary>Removes the A/B candidate (a rollout that rolled back); the primary answers everything.</summary>
    public Snapshot ClearCandidate()
    {
        lock (_gate)
        {
            _current = _current with { Candidate = null, CandidateTraffic = 0 };
            return _current;
        }
    }

    /// <summary>The rollout feeding on this deployment's scores, or null (the model stage reads it once per batch).</summary>
    public ModelRollout? Rollout
    {
        get => Volatile.Read(ref _rollout);
        set => Volatile.Write(ref _rollout, value);
    }

    /// <summary>Follows the registry's shared rollouts of the primary model (set once, for registry models).</summary>
    public RolloutFollower? Follower { get; set; }

    public Snapshot SetShadows(ModelEntry[] shadows)
    {
        lock (_gate)
        {
            _current = _current with { Shadows = shadows };
            return _current;
        }
    }

    public void RecordLabels(long labelled, long correct, double logLoss)
    {
        lock (_gate)
        {
            _labelled += labelled;
            _correct += correct;
            _logLoss += logLoss;
        }
    }

    public void RecordShadow(long rows, long agree)
    {
        lock (_gate)
        {
            _shadowRows += rows;
            _shadowAgree += agree;
        }
    }

    public ModelMetrics Metrics()
    {
        lock (_gate)
        {
            return new ModelMetrics
            {
                LabelledRows = _labelled,
                Accuracy = _labelled == 0 ? 0 : (double)_correct / _labelled,
                LogLoss = _labelled == 0 ? 0 : _logLoss / _labelled,
                ShadowRows = _shadowRows,
                ShadowAgreement = _shadowRows == 0 ? 0 : (double)_shadowAgree / _shadowRows,
            };
        }
    }

    public ModelDeployment ToProto()
    {
        var s = _current;
        var result = new ModelDeployment
        {
            Primary = Ref(s.Primary),
            Candidate = Ref(s.Candidate),
            CandidateTraffic = s.CandidateTraffic,
            Previous = Ref(s.Previous),
        };
        result.Shadows.AddRange(s.Shadows.Select(e => Ref(e)!));
        return result;
    }

    private static ModelRef? Ref(ModelEntry? e) => e is null ? null : new ModelRef { Name = e.Name, Version = e.Version };
}

using System.Diagnostics;
using StreamMl.Engine;
using StreamMl.Engine.Routing;
using StreamMl.Operators.Rollouts;

namespace StreamMl.Operators.Scoring;

/// <summary>A scoring stage over any models (<see cref="IScoringModel"/>): scores rows with the plan's answering model,
/// routes a share of keys to an A/B candidate by a hash of the row key, runs shadow models for comparison, feeds a
/// rollout, and tracks accuracy when rows carry a label. It reads the plan (<see cref="IScoringPlanSource"/>) once per
/// batch, so a deploy or promote takes effect between two batches. Keys are routed with <see cref="TrafficSplit"/>, as in
/// <see cref="ScoringOperator"/>, so a key meets the same variant here as in a pipeline that calls
/// <see cref="ScoringOperator.SetVariants"/> with (answering, 1 - share), (candidate, share). A selected row with a null
/// or non-finite model input is rejected (rule <c>model-input</c>) with the input's name. A batch allocates nothing once
/// every model has scored a batch.</summary>
public sealed class VariantScoringOperator : IParallelOperator
{
    private readonly VariantScoringOptions _options;
    private readonly IScoringPlanSource _plans;
    private readonly string? _keyColumn;
    private readonly string? _labelColumn;
    private readonly string _scoreColumn;
    private readonly Dictionary<IScoringModel, IRowScorer> _scorers = new(ReferenceEqualityComparer.Instance);
    private Schema _schema = Schema.Empty;
    private float[] _primary = [];
    private float[] _candidate = [];
    private float[] _shadow = [];
    private int _scoreIndex;
    private int _modelIndex;
    private int _keyIndex = -1;
    private int _labelIndex = -1;
    private Rollout? _windowsFor;
    private RolloutWindow? _championWindow;
    private RolloutWindow? _candidateWindow;

    /// <summary>Creates the stage; columns are resolved in <see cref="Bind"/>.</summary>
    public VariantScoringOperator(VariantScoringOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Workers, 1);
        _options = options;
        _plans = options.Plans;
        _scoreColumn = options.ScoreColumn;
        _keyColumn = options.KeyColumn;
        _labelColumn = options.LabelColumn;
    }

    /// <inheritdoc/>
    public string Name => _options.Name;

    /// <summary>When set, this model scores every row (no A/B split, no shadows, no rollout, no label tracking), e.g. for
    /// a request that names a version. Set it between batches, on the thread that calls <see cref="Process"/>.</summary>
    public IScoringModel? Pinned { get; set; }

    /// <summary>The plan the last batch was scored with.</summary>
    public ScoringPlan LastPlan { get; private set; } = ScoringPlan.Empty;

    /// <summary>Pipeline threads that run this stage (<see cref="VariantScoringOptions.Workers"/>); each has its own
    /// scorers, and they share the plan source.</summary>
    public int Workers => _options.Workers;

    /// <inheritdoc/>
    public IBatchOperator CreateWorker() => new VariantScoringOperator(_options);

    /// <inheritdoc/>
    public Schema Bind(Schema input)
    {
        if (_keyColumn is not null)
        {
            _keyIndex = input.Require(_keyColumn);
            var type = input[_keyIndex].Type;
            if (type is not (ColumnType.String or ColumnType.Int32 or ColumnType.Int64))
                throw new SchemaMismatchException($"model key column '{_keyColumn}' is {ColumnTypes.Name(type)}; A/B routing hashes a string, int32 or int64 key");
        }
        if (_labelColumn is not null) _labelIndex = input.Require(_labelColumn);
        var answering = _plans.Plan.Answering;
        if (answering is not null)
            foreach (var name in answering.Inputs) input.Require(name);
        _schema = input.Add(new Field(_scoreColumn, ColumnType.Float32), new Field(_options.ModelColumn, ColumnType.String));
        _scoreIndex = _schema.IndexOf(_scoreColumn);
        _modelIndex = _schema.IndexOf(_options.ModelColumn);
        return _schema;
    }

    /// <inheritdoc/>
    public void Process(ColumnBatch batch, StageContext context)
    {
        var plan = _plans.Plan;
        LastPlan = plan;
        var n = batch.Length;
        var scoreColumn = batch[_scoreIndex];
        var answering = Pinned ?? plan.Answering;
        if (answering is null)
        {
            for (var row = 0; row < n; row++) scoreColumn.SetNull(row);
            return;
        }
        EnsureBuffers(batch.Capacity);
        var primary = Scorer(answering);
        RejectNullInputs(batch, primary, context);
        var feed = Pinned is null && plan.Rollout is { } rollout && !rollout.Rollout.IsFinished && ReferenceEquals(rollout.Champion, answering)
            ? rollout : null;
        if (feed is not null) EnsureWindows(feed.Rollout);
        var started = Stopwatch.GetTimestamp();
        primary.Score(batch, _primary);
        if (feed is not null) _championWindow!.AddLatency(Stopwatch.GetElapsedTime(started).TotalSeconds);

        var scores = scoreColumn.Values<float>();
        var models = batch[_modelIndex];
        var codes = models.Values<int>();
        var primaryCode = models.Dictionary!.GetOrAdd(answering.Id);
        _primary.AsSpan(0, n).CopyTo(scores);
        codes[..n].Fill(primaryCode);
        if (Pinned is not null) return;

        if (plan.Candidate is { } candidateEntry && plan.CandidateTraffic > 0)
        {
            var candidate = Scorer(candidateEntry);
            RejectNullInputs(batch, candidate, context);
            var candidateStarted = Stopwatch.GetTimestamp();
            candidate.Score(batch, _candidate);
            if (feed is not null && ReferenceEquals(candidateEntry, feed.Candidate))
                _candidateWindow!.AddLatency(Stopwatch.GetElapsedTime(candidateStarted).TotalSeconds);
            var candidateCode = models.Dictionary.GetOrAdd(candidateEntry.Id);
            Span<int> split = stackalloc int[2];
            TrafficSplit.Split([1 - plan.CandidateTraffic, plan.CandidateTraffic], split);
            for (var row = 0; row < n; row++)
            {
                if (!TryRoutingBucket(batch, row, out var bucket) || TrafficSplit.VariantOf(bucket, split) == 0) continue;
                scores[row] = _candidate[row];
                codes[row] = candidateCode;
            }
        }

        if (feed is not null) FeedRollout(batch, scores, codes, plan.Candidate is { } c && ReferenceEquals(c, feed.Candidate) ? models.Dictionary.CodeOf(c.Id) : -1);

        // Indexed, not foreach: enumerating an IReadOnlyList allocates its enumerator (RegistryRoutingTests holds 0 B/batch).
        var shadows = plan.Shadows;
        for (var s = 0; s < shadows.Count; s++)
        {
            var shadowEntry = shadows[s];
            var shadow = Scorer(shadowEntry);
            RejectNullInputs(batch, shadow, context);
            var shadowStarted = Stopwatch.GetTimestamp();
            shadow.Score(batch, _shadow);
            if (feed is not null && ReferenceEquals(shadowEntry, feed.Candidate))
            {
                _candidateWindow!.AddLatency(Stopwatch.GetElapsedTime(shadowStarted).TotalSeconds);
                FeedShadow(batch);
            }
            long rows = 0, agree = 0;
            for (var row = 0; row < n; row++)
            {
                if (!batch.Selection.IsSelected(row)) continue;
                rows++;
                if (_shadow[row] >= 0.5f == scores[row] >= 0.5f) agree++;
            }
            _plans.RecordShadow(rows, agree);
        }

        if (_labelIndex >= 0) TrackLabels(batch, scores);
        if (feed is not null)
        {
            feed.Rollout.Record(RolloutRole.Champion, _championWindow!);
            feed.Rollout.Record(RolloutRole.Candidate, _candidateWindow!);
        }
    }

    /// <summary>Each selected row's answer goes to the champion's or the candidate's rollout window (with its label,
    /// when the row carries one); a row whose score is missing or not finite counts as that model's error.</summary>
    private void FeedRollout(ColumnBatch batch, Span<float> scores, Span<int> codes, int candidateCode)
    {
        var scoreColumn = batch[_scoreIndex];
        var label = _labelIndex >= 0 ? batch[_labelIndex] : null;
        for (var row = 0; row < batch.Length; row++)
        {
            if (!batch.Selection.IsSelected(row)) continue;
            var window = codes[row] == candidateCode ? _candidateWindow! : _championWindow!;
            var failed = !scoreColumn.IsValid(row);
            window.AddScore(scores[row], failed);
            if (!failed && label is not null && label.IsValid(row)) window.AddOutcome(scores[row], LabelOf(label, row));
        }
    }

    /// <summary>The candidate's shadow scores (every selected row) go to its rollout window.</summary>
    private void FeedShadow(ColumnBatch batch)
    {
        var label = _labelIndex >= 0 ? batch[_labelIndex] : null;
        for (var row = 0; row < batch.Length; row++)
        {
            if (!batch.Selection.IsSelected(row)) continue;
            _candidateWindow!.AddScore(_shadow[row]);
            if (label is not null && label.IsValid(row)) _candidateWindow.AddOutcome(_shadow[row], LabelOf(label, row));
        }
    }

    private static double LabelOf(Column label, int row) => label.Type switch
    {
        ColumnType.Bool => label.Values<byte>()[row],
        ColumnType.Float32 => label.Values<float>()[row],
        ColumnType.Float64 => label.Values<double>()[row],
        ColumnType.Int32 => label.Values<int>()[row],
        ColumnType.Int64 => label.Values<long>()[row],
        _ => double.NaN,
    };

    private void EnsureWindows(Rollout rollout)
    {
        if (ReferenceEquals(rollout, _windowsFor)) return;
        _championWindow = new RolloutWindow(rollout.Options);
        _candidateWindow = new RolloutWindow(rollout.Options);
        _windowsFor = rollout;
    }

    /// <summary>The score of a row with a null input would be meaningless: reject it with the input's name.</summary>
    private void RejectNullInputs(ColumnBatch batch, IRowScorer scorer, StageContext context)
    {
        var score = batch[_scoreIndex];
        var model = batch[_modelIndex];
        var inputs = scorer.Inputs;
        for (var i = 0; i < inputs.Count; i++)
        {
            var input = inputs[i];
            var column = batch[input];
            var floats = column.Type == ColumnType.Float32 ? column.Values<float>() : default;
            if (!column.MayHaveNulls && floats.IsEmpty) continue;
            for (var row = 0; row < batch.Length; row++)
            {
                if (!batch.Selection.IsSelected(row)) continue;
                string? problem = null;
                if (!column.IsValid(row)) problem = "null";
                else if (!floats.IsEmpty && !float.IsFinite(floats[row])) problem = floats[row].ToString(System.Globalization.CultureInfo.InvariantCulture);
                if (problem is null) continue;
                // The dead letter prints every column: the ones this stage writes hold nothing yet.
                score.SetNull(row);
                model.SetNull(row);
                context.Reject(batch, row, "model-input", $"model input '{input}' is {problem}");
            }
        }
    }

    private void TrackLabels(ColumnBatch batch, Span<float> scores)
    {
        var label = batch[_labelIndex];
        long labelled = 0, correct = 0;
        var logLoss = 0.0;
        for (var row = 0; row < batch.Length; row++)
        {
            if (!batch.Selection.IsSelected(row) || !label.IsValid(row)) continue;
            var y = label.Type switch
            {
                ColumnType.Bool => label.Values<byte>()[row] != 0,
                ColumnType.Float32 => label.Values<float>()[row] >= 0.5f,
                ColumnType.Float64 => label.Values<double>()[row] >= 0.5,
                ColumnType.Int32 => label.Values<int>()[row] != 0,
                ColumnType.Int64 => label.Values<long>()[row] != 0,
                _ => false,
            };
            var p = Math.Clamp((double)scores[row], 1e-7, 1 - 1e-7);
            labelled++;
            if (p >= 0.5 == y) correct++;
            logLoss -= y ? Math.Log(p) : Math.Log(1 - p);
        }
        if (labelled > 0) _plans.RecordLabels(labelled, correct, logLoss);
    }

    /// <summary>The row's routing bucket; false for a null key, which stays with the primary (variant 0), as in the
    /// scoring operator. Without a key column the row's source position is the key.</summary>
    private bool TryRoutingBucket(ColumnBatch batch, int row, out uint bucket)
    {
        if (_keyIndex < 0)
        {
            bucket = TrafficSplit.BucketOf(batch.RowOffsets[row] ^ ((long)batch.RowPartitions[row] << 48));
            return true;
        }
        var column = batch[_keyIndex];
        if (!column.IsValid(row))
        {
            bucket = 0;
            return false;
        }
        bucket = column.Type switch
        {
            ColumnType.String => TrafficSplit.BucketOf(column.Dictionary![column.Values<int>()[row]]),
            ColumnType.Int32 => TrafficSplit.BucketOf(column.Values<int>()[row]),
            _ => TrafficSplit.BucketOf(column.Values<long>()[row]),
        };
        return true;
    }

    /// <summary>The scorer of <paramref name="model"/> in this stage (created and bound on first use), e.g. to read what
    /// only a bound scorer knows. Call it on the thread that calls <see cref="Process"/>.</summary>
    public IRowScorer ScorerOf(IScoringModel model) => Scorer(model);

    private IRowScorer Scorer(IScoringModel model)
    {
        if (_scorers.TryGetValue(model, out var scorer)) return scorer;
        scorer = model.CreateScorer();
        scorer.Bind(_schema);
        _scorers[model] = scorer;
        return scorer;
    }

    private void EnsureBuffers(int capacity)
    {
        if (_primary.Length >= capacity) return;
        _primary = new float[capacity];
        _candidate = new float[capacity];
        _shadow = new float[capacity];
    }
}

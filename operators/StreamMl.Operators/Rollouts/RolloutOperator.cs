using StreamMl.Engine;
using StreamMl.Operators.Scoring;

namespace StreamMl.Operators.Rollouts;

/// <summary>Feeds the active <see cref="Rollout"/> from a scoring pipeline: placed after a <see cref="ScoringOperator"/>,
/// it reads each row's score and variant (which model answered) and, when the batch carries the label, the labelled
/// outcome; given to the scorer as its <see cref="ScoringOptions.ShadowRecorder"/>, it also sees the candidate's scores
/// while it runs as a shadow. Rows of other models are ignored. With no active rollout it passes batches through.
/// Observations go into per-batch windows merged into the rollout once per batch, so a batch allocates nothing.</summary>
public sealed class RolloutOperator : IBatchOperator, IShadowRecorder
{
    private readonly string _scoreColumn;
    private readonly string _variantColumn;
    private readonly string? _labelColumn;
    private readonly Lock _shadowLock = new();
    private Rollout? _active;
    private RolloutWindow? _championScratch, _candidateScratch, _shadowScratch;
    private int _scoreIndex = -1, _variantIndex = -1, _labelIndex = -1;
    private Schema? _shadowSchema;
    private int _shadowLabelIndex = -1;

    /// <summary>Reads scores from <paramref name="scoreColumn"/>, the answering model's name from
    /// <paramref name="variantColumn"/> and, when given, labels from <paramref name="labelColumn"/>.</summary>
    public RolloutOperator(string scoreColumn, string variantColumn = "model_variant", string? labelColumn = null)
    {
        _scoreColumn = scoreColumn;
        _variantColumn = variantColumn;
        _labelColumn = labelColumn;
    }

    /// <inheritdoc/>
    public string Name => "rollout";

    /// <summary>The rollout being fed, or null. Setting it takes effect at the next batch.</summary>
    public Rollout? Active
    {
        get => Volatile.Read(ref _active);
        set
        {
            if (value is not null)
            {
                _championScratch = new RolloutWindow(value.Options);
                _candidateScratch = new RolloutWindow(value.Options);
                lock (_shadowLock) _shadowScratch = new RolloutWindow(value.Options);
            }
            Volatile.Write(ref _active, value);
        }
    }

    /// <inheritdoc/>
    public Schema Bind(Schema input)
    {
        _scoreIndex = input.Require(_scoreColumn, ColumnType.Float32);
        _variantIndex = input.Require(_variantColumn, ColumnType.String);
        _labelIndex = _labelColumn is null ? -1 : RequireNumber(input, _labelColumn);
        return input;
    }

    /// <inheritdoc/>
    public void Process(ColumnBatch batch, StageContext context)
    {
        var rollout = Active;
        if (rollout is null || rollout.IsFinished) return;
        var champion = _championScratch!;
        var candidate = _candidateScratch!;
        var variants = batch[_variantIndex];
        var championCode = variants.Dictionary!.CodeOf(rollout.Champion);
        var candidateCode = variants.Dictionary.CodeOf(rollout.Candidate);
        var codes = variants.Values<int>();
        var scoreColumn = batch[_scoreIndex];
        var scores = scoreColumn.Values<float>();
        var label = _labelIndex >= 0 ? batch[_labelIndex] : null;
        for (var row = 0; row < batch.Length; row++)
        {
            if (!batch.Selection.IsSelected(row)) continue;
            var code = codes[row];
            var window = code == championCode ? champion : code == candidateCode ? candidate : null;
            if (window is null) continue;
            var failed = !scoreColumn.IsValid(row);
            window.AddScore(scores[row], failed);
            if (!failed && label is not null && label.IsValid(row)) window.AddOutcome(scores[row], Number(label, row));
        }
        rollout.Record(RolloutRole.Champion, champion);
        rollout.Record(RolloutRole.Candidate, candidate);
    }

    /// <inheritdoc/>
    public void Record(OnnxModel shadow, ColumnBatch batch, ReadOnlySpan<float> shadowScores, ReadOnlySpan<float> emittedScores)
    {
        var rollout = Active;
        if (rollout is null || rollout.IsFinished || shadow.Name != rollout.Candidate) return;
        lock (_shadowLock)
        {
            if (!ReferenceEquals(batch.Schema, _shadowSchema))
            {
                _shadowSchema = batch.Schema;
                _shadowLabelIndex = _labelColumn is null ? -1 : batch.Schema.IndexOf(_labelColumn);
            }
            var label = _shadowLabelIndex >= 0 ? batch[_shadowLabelIndex] : null;
            var window = _shadowScratch!;
            for (var row = 0; row < shadowScores.Length; row++)
            {
                if (!batch.Selection.IsSelected(row)) continue;
                window.AddScore(shadowScores[row]);
                if (label is not null && label.IsValid(row)) window.AddOutcome(shadowScores[row], Number(label, row));
            }
            rollout.Record(RolloutRole.Candidate, window);
        }
    }

    private static int RequireNumber(Schema schema, string name)
    {
        var index = schema.Require(name);
        if (schema[index].Type is ColumnType.String or ColumnType.Timestamp)
            throw new RolloutException($"rollout label column '{name}' is {ColumnTypes.Name(schema[index].Type)}; labels must be numeric or bool");
        return index;
    }

    private static double Number(Column column, int row) => column.Type switch
    {
        ColumnType.Float32 => column.Values<float>()[row],
        ColumnType.Float64 => column.Values<double>()[row],
        ColumnType.Int32 => column.Values<int>()[row],
        ColumnType.Int64 => column.Values<long>()[row],
        ColumnType.Bool => column.Values<byte>()[row],
        _ => double.NaN,
    };
}

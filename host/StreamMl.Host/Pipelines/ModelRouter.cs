using StreamMl.Engine;
using StreamMl.Host.Models;

namespace StreamMl.Host.Pipelines;

/// <summary>The scoring stage: scores rows with the deployed primary model, routes a share of rows to a candidate by a
/// hash of the row key (A/B), runs shadow models for comparison, and tracks accuracy when rows carry a label.
/// It reads the deployment once per batch, so a deploy or promote takes effect between two batches.</summary>
internal sealed class ModelRouter : IBatchOperator
{
    private readonly ModelDeployments _deployments;
    private readonly string? _keyColumn;
    private readonly string? _labelColumn;
    private readonly string _scoreColumn;
    private readonly Dictionary<ModelEntry, IModelScorer> _scorers = new(ReferenceEqualityComparer.Instance);
    private Schema _schema = Schema.Empty;
    private float[] _primary = [];
    private float[] _candidate = [];
    private float[] _shadow = [];
    private int _scoreIndex;
    private int _modelIndex;
    private int _keyIndex = -1;
    private int _labelIndex = -1;

    public ModelRouter(ModelDeployments deployments, string scoreColumn, string? keyColumn, string? labelColumn)
    {
        _deployments = deployments;
        _scoreColumn = scoreColumn;
        _keyColumn = keyColumn;
        _labelColumn = labelColumn;
    }

    public string Name => "model";

    public Schema Bind(Schema input)
    {
        if (_keyColumn is not null) _keyIndex = input.Require(_keyColumn);
        if (_labelColumn is not null) _labelIndex = input.Require(_labelColumn);
        var primary = _deployments.Current.Primary;
        if (primary is not null)
            foreach (var name in primary.Inputs) input.Require(name);
        _schema = input.Add(new Field(_scoreColumn, ColumnType.Float32), new Field("model", ColumnType.String));
        _scoreIndex = _schema.IndexOf(_scoreColumn);
        _modelIndex = _schema.IndexOf("model");
        return _schema;
    }

    public void Process(ColumnBatch batch, StageContext context)
    {
        var deployment = _deployments.Current;
        var n = batch.Length;
        var scoreColumn = batch[_scoreIndex];
        if (deployment.Primary is null)
        {
            for (var row = 0; row < n; row++) scoreColumn.SetNull(row);
            return;
        }
        EnsureBuffers(batch.Capacity);
        var primary = Scorer(deployment.Primary);
        RejectNullInputs(batch, primary, context);
        primary.Score(batch, _primary);

        var scores = scoreColumn.Values<float>();
        var models = batch[_modelIndex];
        var codes = models.Values<int>();
        var primaryCode = models.Dictionary!.GetOrAdd(deployment.Primary.Id);
        _primary.AsSpan(0, n).CopyTo(scores);
        codes[..n].Fill(primaryCode);

        if (deployment.Candidate is { } candidateEntry && deployment.CandidateTraffic > 0)
        {
            var candidate = Scorer(candidateEntry);
            RejectNullInputs(batch, candidate, context);
            candidate.Score(batch, _candidate);
            var candidateCode = models.Dictionary.GetOrAdd(candidateEntry.Id);
            var threshold = (uint)(deployment.CandidateTraffic * (1 << 24));
            for (var row = 0; row < n; row++)
            {
                if ((RowHash(batch, row) & 0xFFFFFF) >= threshold) continue;
                scores[row] = _candidate[row];
                codes[row] = candidateCode;
            }
        }

        foreach (var shadowEntry in deployment.Shadows)
        {
            var shadow = Scorer(shadowEntry);
            RejectNullInputs(batch, shadow, context);
            shadow.Score(batch, _shadow);
            long rows = 0, agree = 0;
            for (var row = 0; row < n; row++)
            {
                if (!batch.Selection.IsSelected(row)) continue;
                rows++;
                if (_shadow[row] >= 0.5f == scores[row] >= 0.5f) agree++;
            }
            _deployments.RecordShadow(rows, agree);
        }

        if (_labelIndex >= 0) TrackLabels(batch, scores);
    }

    /// <summary>The score of a row with a null input would be meaningless: reject it with the input's name.</summary>
    private void RejectNullInputs(ColumnBatch batch, IModelScorer scorer, StageContext context)
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
        if (labelled > 0) _deployments.RecordLabels(labelled, correct, logLoss);
    }

    private uint RowHash(ColumnBatch batch, int row)
    {
        ulong key;
        if (_keyIndex < 0) key = (ulong)batch.RowOffsets[row] ^ ((ulong)(uint)batch.RowPartitions[row] << 48);
        else
        {
            var column = batch[_keyIndex];
            key = column.Type switch
            {
                ColumnType.String => Fnv(column.Dictionary![column.Values<int>()[row]]),
                ColumnType.Int32 => (ulong)column.Values<int>()[row],
                ColumnType.Int64 or ColumnType.Timestamp => (ulong)column.Values<long>()[row],
                ColumnType.Float32 => BitConverter.SingleToUInt32Bits(column.Values<float>()[row]),
                ColumnType.Float64 => BitConverter.DoubleToUInt64Bits(column.Values<double>()[row]),
                _ => column.Values<byte>()[row],
            };
        }
        // A stable mix (splitmix64's finaliser): the same key lands on the same model in every process.
        key ^= key >> 30;
        key *= 0xbf58476d1ce4e5b9UL;
        key ^= key >> 27;
        key *= 0x94d049bb133111ebUL;
        key ^= key >> 31;
        return (uint)key;
    }

    private static ulong Fnv(string text)
    {
        var hash = 14695981039346656037UL;
        foreach (var c in text)
        {
            hash ^= c;
            hash *= 1099511628211UL;
        }
        return hash;
    }

    private IModelScorer Scorer(ModelEntry entry)
    {
        if (_scorers.TryGetValue(entry, out var scorer)) return scorer;
        scorer = entry.CreateScorer();
        scorer.Bind(_schema);
        _scorers[entry] = scorer;
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

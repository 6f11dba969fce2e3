using StreamMl.Engine;

namespace StreamMl.Host.Pipelines;

/// <summary>A request in another wire form than <see cref="Protos.ScoreRequest"/> (the Open Inference Protocol's
/// tensors): it writes its rows into the Score batch and reads the answers back. A struct type parameter, so the chain
/// calls it without a virtual call or a closure.</summary>
internal interface IScorePayload
{
    /// <summary>Rows in the request (checked against the chain's limit before <see cref="Fill"/>).</summary>
    int Rows { get; }

    /// <summary>Writes rows [0, <see cref="Rows"/>) of the input columns (the first <c>input.Count</c> of the batch).</summary>
    void Fill(ColumnBatch batch, Schema input);

    /// <summary>Reads the answers: a row is accepted when it is selected and <paramref name="scoreIndex"/> holds a
    /// value; <paramref name="reasons"/> says why each rejected row was rejected; <paramref name="chain"/> answers
    /// <see cref="ScoreChain.ClassScores"/> for multiclass rows while the batch is still scored.</summary>
    void Read(ColumnBatch batch, ReadOnlySpan<string?> reasons, int scoreIndex, int modelIndex, ScoreChain chain);
}

internal sealed partial class ScoreChain
{
    /// <summary>Scores <paramref name="payload"/> through the same batch pool and operator instances as
    /// <see cref="Score"/>, so both answer the same rows with the same scores. <paramref name="pinned"/> answers every
    /// row (as Score's <c>model_version</c>); null routes as deployed.</summary>
    public void Run<TPayload>(ref TPayload payload, string where, Models.ModelEntry? pinned = null) where TPayload : struct, IScorePayload
    {
        lock (_gate)
        {
            var batch = _pool.Rent();
            try
            {
                if (_router is not null) _router.Pinned = pinned;
                var n = CheckCount(payload.Rows, where);
                batch.Length = n;
                payload.Fill(batch, _input);
                var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000;
                batch.EventTimesBuffer[..n].Fill(now);
                var offsets = batch.RowOffsetsBuffer;
                for (var i = 0; i < n; i++) offsets[i] = i;
                batch.RowPartitionsBuffer[..n].Clear();

                Array.Clear(_reasons, 0, n);
                _capture.Reasons = _reasons;
                for (var i = 0; i < _operators.Length; i++)
                {
                    if (batch.Selection.Count == 0) break;
                    _operators[i].Process(batch, _contexts[i]);
                }
                _capture.Reasons = null;
                payload.Read(batch, _reasons.AsSpan(0, n), _scoreIndex, _modelIndex, this);
            }
            finally
            {
                if (_router is not null) _router.Pinned = null;
                _pool.Return(batch);
            }
        }
    }

    /// <summary>Writes row <paramref name="row"/>'s class probabilities by <paramref name="entry"/> (a multiclass model
    /// of this chain) into <paramref name="scores"/>; false when its scorer does not have one per class. Only during
    /// <see cref="Run{TPayload}"/>'s read, while the batch's rows are the scorer's last.</summary>
    public bool ClassScores(Models.ModelEntry entry, int row, Span<float> scores)
    {
        if (_router is null) return false;
        var scorer = (Models.IModelScorer)_router.ScorerOf(entry);
        if (scorer.ClassCount != scores.Length) return false;
        scorer.ClassScores(row, scores);
        return true;
    }
}

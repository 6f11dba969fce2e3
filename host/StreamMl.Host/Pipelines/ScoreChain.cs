using StreamMl.Engine;
using StreamMl.Host.Protos;
using StreamMl.Host.Specs;

namespace StreamMl.Host.Pipelines;

/// <summary>Runs Score requests through a pipeline's validation, features and model stages synchronously, on its own
/// operator instances (operators are single-threaded, so calls take turns on a lock; the work per call is
/// microseconds). Rejected rows come back with the rule and message instead of a score.</summary>
internal sealed partial class ScoreChain : IDisposable
{
    private readonly object _gate = new();
    private readonly IBatchOperator[] _operators;
    private readonly StageContext[] _contexts;
    private readonly BatchPool _pool;
    private readonly Capture _capture;
    private readonly Schema _input;
    private readonly int _scoreIndex;
    private readonly int _modelIndex;
    private readonly string?[] _reasons;

    public ScoreChain(CompiledSpec spec, PipelineRuntime runtime, Schema input, int maxRows)
    {
        _input = input;
        _capture = new Capture(runtime.DeadLetters);
        var operators = new List<IBatchOperator>();
        var schema = input;
        foreach (var stage in spec.Operators)
        {
            if (!ComponentRegistry.ScoreSections.Contains(stage.Kind)) continue;
            var op = CompiledSpec.Create(stage, runtime);
            schema = op.Bind(schema);
            operators.Add(op);
        }
        _operators = [.. operators];
        _contexts = [.. _operators.Select(op => StageContext.Standalone(op.Name, _capture))];
        _pool = new BatchPool(schema, maxRows, maxRetained: 2);
        _scoreIndex = schema.IndexOf("score");
        _modelIndex = schema.IndexOf("model");
        MaxRows = maxRows;
        _reasons = new string?[maxRows];
    }

    public int MaxRows { get; }

    public Schema Input => _input;

    /// <summary>Scores the payload of <paramref name="request"/>; throws <see cref="BadInputException"/> for malformed input.</summary>
    public ScoreResponse Score(ScoreRequest request)
    {
        const string where = "Score request";
        var response = new ScoreResponse { RequestId = request.RequestId };
        lock (_gate)
        {
            var batch = _pool.Rent();
            try
            {
                switch (request.PayloadCase)
                {
                    case ScoreRequest.PayloadOneofCase.Rows:
                        {
                            var map = RowCodec.MapColumns(request.Rows, _input, where);
                            var count = CheckCount(request.Rows.Rows.Count, where);
                            batch.Length = count;
                            RowCodec.Write(request.Rows, map, 0, count, batch, 0, where, _input.Count);
                            break;
                        }
                    case ScoreRequest.PayloadOneofCase.ArrowIpc:
                        {
                            var arrows = RowCodec.ReadArrow(request.ArrowIpc.Memory, where);
                            var count = CheckCount(arrows.Sum(a => a.Length), where);
                            batch.Length = count;
                            var at = 0;
                            foreach (var arrow in arrows)
                            {
                                using (arrow)
                                {
                                    RowCodec.CheckArrowSchema(arrow.Schema, _input, where);
                                    RowCodec.Write(arrow, 0, arrow.Length, batch, at, where, _input.Count);
                                    at += arrow.Length;
                                }
                            }
                            break;
                        }
                    default:
                        throw new BadInputException("the request has no payload: set rows or arrow_ipc", where);
                }
                var n = batch.Length;
                var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000;
                batch.EventTimesBuffer[..n].Fill(now);
                var offsets = batch.RowOffsetsBuffer;
                for (var i = 0; i < n; i++) offsets[i] = i;
                batch.RowPartitionsBuffer[..n].Clear();

                var reasons = _reasons;
                Array.Clear(reasons, 0, n);
                _capture.Reasons = reasons;
                for (var i = 0; i < _operators.Length; i++)
                {
                    if (batch.Selection.Count == 0) break;
                    _operators[i].Process(batch, _contexts[i]);
                }
                _capture.Reasons = null;

                for (var row = 0; row < n; row++)
                {
                    var result = new RowScore { Row = row };
                    if (!batch.Selection.IsSelected(row))
                    {
                        result.Rejected = true;
                        result.Reason = reasons[row] ?? "rejected";
                    }
                    else if (_scoreIndex >= 0 && batch[_scoreIndex].IsValid(row))
                    {
                        result.Score = batch[_scoreIndex].Values<float>()[row];
                        if (_modelIndex >= 0) result.Model = batch[_modelIndex].Dictionary![batch[_modelIndex].Values<int>()[row]];
                    }
                    else
                    {
                        result.Rejected = true;
                        result.Reason = "no model is deployed to this pipeline: deploy one with Control.DeployModel";
                    }
                    response.Scores.Add(result);
                }
            }
            finally
            {
                _pool.Return(batch);
            }
        }
        return response;
    }

    private int CheckCount(int count, string where)
    {
        if (count == 0) throw new BadInputException("the request has no rows", where);
        if (count > MaxRows) throw new BadInputException($"{count} rows in one Score request; at most {MaxRows} (use ScoreStream or Ingest for more)", where);
        return count;
    }

    public void Dispose() => _pool.Dispose();

    /// <summary>Forwards dead letters to the pipeline and remembers each rejected row's reason for the response.</summary>
    private sealed class Capture(IDeadLetterSink inner) : IDeadLetterSink
    {
        public string?[]? Reasons;

        public long Count => inner.Count;

        public void Write(Engine.DeadLetter deadLetter)
        {
            inner.Write(deadLetter with { Location = $"Score request row {deadLetter.Offset}" });
            if (Reasons is { } reasons && deadLetter.Offset >= 0 && deadLetter.Offset < reasons.Length)
                reasons[deadLetter.Offset] ??= $"{deadLetter.Rule}: {deadLetter.Message}";
        }
    }
}

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
    private readonly Operators.Scoring.VariantScoringOperator? _router;
    private float[] _classScores = new float[16];
    private readonly (int Class, int Probability)[] _topClasses;

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
        _router = _operators.OfType<Operators.Scoring.VariantScoringOperator>().FirstOrDefault();
        _contexts = [.. _operators.Select(op => StageContext.Standalone(op.Name, _capture))];
        _pool = new BatchPool(schema, maxRows, maxRetained: 2);
        _scoreIndex = schema.IndexOf("score");
        _modelIndex = schema.IndexOf("model");
        _topClasses = TopClassColumns(schema);
        MaxRows = maxRows;
        _reasons = new string?[maxRows];
    }

    public int MaxRows { get; }

    public Schema Input => _input;

    /// <summary>The scorer of <paramref name="entry"/> in this chain, bound (for what only a bound scorer knows).</summary>
    public Models.IModelScorer? ScorerOf(Models.ModelEntry entry)
    {
        if (_router is null) return null;
        lock (_gate) return (Models.IModelScorer)_router.ScorerOf(entry);
    }

    /// <summary>Scores the payload of <paramref name="request"/>; throws <see cref="BadInputException"/> for malformed input.</summary>
    public ScoreResponse Score(ScoreRequest request, Models.ModelDeployments deployments, string pipeline)
    {
        const string where = "Score request";
        var response = new ScoreResponse { RequestId = request.RequestId };
        lock (_gate)
        {
            var pinned = _router is null ? null : Models.ModelSelector.Resolve(deployments.Current, request.ModelVersion, pipeline);
            var batch = _pool.Rent();
            try
            {
                if (_router is not null) _router.Pinned = pinned;
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
                        if (_router is not null) DescribeOutputs(result, row);
                    }
                    else if (_topClasses.Length > 0)
                    {
                        DescribeTopClasses(batch, row, result);
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
                if (_router is not null) _router.Pinned = null;
                _pool.Return(batch);
            }
        }
        return response;
    }

    /// <summary>Adds the answering model's name, version and variant, and the class probabilities and label.</summary>
    private void DescribeOutputs(RowScore result, int row)
    {
        var deployment = _router!.LastPlan.Source as Models.ModelDeployments.Snapshot ?? Models.ModelDeployments.Snapshot.Empty;
        var entry = (Models.ModelEntry?)_router.Pinned ?? Models.ModelSelector.FindById(deployment, result.Model);
        if (entry is null) return;
        result.ModelName = entry.Name;
        result.ModelVersion = entry.Version;
        result.Variant = Models.ModelSelector.VariantOf(deployment, entry);
        var classes = entry.Classes;
        switch (entry.Task)
        {
            case "binary" when classes.Count == 2:
                result.Probabilities.Add(1 - result.Score);
                result.Probabilities.Add(result.Score);
                result.Label = classes[result.Score >= entry.Threshold ? 1 : 0];
                break;
            case "multiclass" when classes.Count > 0:
                {
                    var scorer = (Models.IModelScorer)_router.ScorerOf(entry);
                    if (scorer.ClassCount != classes.Count) break;
                    if (_classScores.Length < classes.Count) _classScores = new float[classes.Count];
                    var scores = _classScores.AsSpan(0, classes.Count);
                    scorer.ClassScores(row, scores);
                    var best = 0;
                    for (var c = 0; c < scores.Length; c++)
                    {
                        result.Probabilities.Add(scores[c]);
                        if (scores[c] > scores[best]) best = c;
                    }
                    result.Label = classes[best];
                    break;
                }
        }
    }

    /// <summary>The (class, probability) columns an image model writes (<c>top1_class</c>, <c>top1_probability</c>, ...).</summary>
    private static (int, int)[] TopClassColumns(Schema schema)
    {
        var columns = new List<(int, int)>();
        for (var rank = 1; ; rank++)
        {
            var (label, probability) = (schema.IndexOf($"top{rank}_class"), schema.IndexOf($"top{rank}_probability"));
            if (label < 0 || probability < 0) return [.. columns];
            columns.Add((label, probability));
        }
    }

    /// <summary>An image model's answer: the top-k classes, the first as label and its probability as score.</summary>
    private void DescribeTopClasses(ColumnBatch batch, int row, RowScore result)
    {
        foreach (var (labelColumn, probabilityColumn) in _topClasses)
        {
            var labels = batch[labelColumn];
            result.TopClasses.Add(new ClassProbability
            {
                Label = labels.Dictionary![labels.Values<int>()[row]],
                Probability = batch[probabilityColumn].Values<float>()[row],
            });
        }
        result.Label = result.TopClasses[0].Label;
        result.Score = result.TopClasses[0].Probability;
        if (_modelIndex >= 0 && batch[_modelIndex].IsValid(row))
        {
            result.Model = batch[_modelIndex].Dictionary![batch[_modelIndex].Values<int>()[row]];
            var at = result.Model.LastIndexOf('@');
            if (at > 0) (result.ModelName, result.ModelVersion) = (result.Model[..at], result.Model[(at + 1)..]);
        }
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

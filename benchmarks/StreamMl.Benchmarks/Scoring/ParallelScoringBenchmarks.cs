using BenchmarkDotNet.Attributes;
using StreamMl.Benchmarks.Harness;
using StreamMl.Engine;
using StreamMl.Operators.Scoring;

namespace StreamMl.Benchmarks.Scoring;

/// <summary>The model stage as 1 or 2 pipeline workers (<see cref="ScoringOptions.Workers"/>): a pipeline replays
/// sensor rows (32 float columns f0..f31, copied from a template) through a scorer running the 100-tree, 31-leaf LightGBM
/// model (<see cref="TreeBenchmarkModel"/>) on the engine's evaluator or on ONNX Runtime, into a sink that counts rows.
/// One operation = one pipeline run over <see cref="Batches"/> batches of 4,096 rows; rows/s = rows / mean.</summary>
[MemoryDiagnoser]
public class ParallelScoringBenchmarks
{
    /// <summary>Batches per operation.</summary>
    public const int Batches = 16;

    private OnnxModel _model = null!;
    private string[] _features = [];

    /// <summary>Scoring threads.</summary>
    [Params(1, 2)]
    public int Workers { get; set; }

    /// <summary>Who evaluates the trees.</summary>
    [Params(TreeEvaluator.Auto, TreeEvaluator.Ort)]
    public TreeEvaluator Evaluator { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _model = OnnxModel.FromBytes(TreeBenchmarkModel.Create().Onnx, "lightgbm-100x31");
        _features = Enumerable.Range(0, TreeBenchmarkModel.Features).Select(c => $"f{c}").ToArray();
        _ = ReplaySource.Template;
    }

    [GlobalCleanup]
    public void Cleanup() => _model.Dispose();

    [Benchmark]
    public long Pipeline()
    {
        using var scorer = new ScoringOperator(_model, new ScoringOptions { FeatureColumns = _features, TreeEvaluator = Evaluator, Workers = Workers });
        var sink = new CountingSink();
        var pipeline = Engine.Pipeline.From(new ReplaySource((long)Batches * ColumnBatch.DefaultCapacity), new PipelineOptions { Name = "parallel-scoring" })
            .Then(scorer).To(sink).Build();
        try { pipeline.RunAsync().GetAwaiter().GetResult(); }
        finally { pipeline.DisposeAsync().AsTask().GetAwaiter().GetResult(); }
        return sink.Rows;
    }

    private sealed class CountingSink : IBatchSink
    {
        public long Rows;
        public string Name => "count";
        public ValueTask OpenAsync(SinkContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;
        public void Write(ColumnBatch batch, long sequence) => Rows += batch.Selection.Count;
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}

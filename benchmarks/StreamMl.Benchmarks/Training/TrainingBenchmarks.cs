using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Loggers;
using Microsoft.ML;
using StreamMl.Operators.Learners;

namespace StreamMl.Benchmarks.Training;

/// <summary>Validation kernels on one cross-validation fold's worth of credit-default-sized data: binary metrics of
/// 6,000 scored rows (StreamMl's Evaluate.Binary against ML.NET's BinaryClassification.Evaluate on the same scores,
/// the baseline), exact stratified folds of 30,000 labels, and SMOTE bringing a 24,000 x 23 training fold with 22%
/// positives to balance.</summary>
[MemoryDiagnoser]
public class TrainingBenchmarks
{
    private float[] _labels = [];
    private float[] _probabilities = [];
    private float[] _allLabels = [];
    private TrainingSet _fold = null!;
    private MLContext _ml = null!;
    private IDataView _scored = null!;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(42);
        _labels = new float[6000];
        _probabilities = new float[6000];
        for (var i = 0; i < _labels.Length; i++)
        {
            _labels[i] = random.NextDouble() < 0.22 ? 1 : 0;
            // Informative but noisy scores, like a real model's.
            _probabilities[i] = (float)Math.Clamp(0.3 * _labels[i] + 0.7 * random.NextDouble(), 0.001, 0.999);
        }
        _allLabels = Enumerable.Range(0, 30000).Select(_ => random.NextDouble() < 0.22 ? 1f : 0f).ToArray();
        var features = new float[24000 * 23];
        for (var i = 0; i < features.Length; i++) features[i] = (float)random.NextDouble();
        _fold = new TrainingSet(features, 23, _allLabels[..24000]);
        _ml = new MLContext(1);
        _scored = _ml.Data.LoadFromEnumerable(_labels.Select((l, i) => new Scored
        {
            Label = l > 0.5f,
            Score = (float)Math.Log(_probabilities[i] / (1 - _probabilities[i])),
            Probability = _probabilities[i],
            PredictedLabel = _probabilities[i] >= 0.5f,
        }).ToArray());
    }

    [Benchmark(Baseline = true)]
    public double MlNetBinaryEvaluate() => _ml.BinaryClassification.Evaluate(_scored).AreaUnderRocCurve;

    [Benchmark]
    public double StreamMlBinaryEvaluate() => Evaluate.Binary(_labels, _probabilities)[MetricNames.RocAuc];

    [Benchmark]
    public int StratifiedFolds30k() => Folds.Stratified(_allLabels, 5, 42)[0];

    [Benchmark]
    public int Smote24kFold() => new Smote(5).Resample(_fold, 1).Rows;

    private sealed class Scored
    {
        public bool Label;
        public float Score;
        public float Probability;
        public bool PredictedLabel;
    }
}

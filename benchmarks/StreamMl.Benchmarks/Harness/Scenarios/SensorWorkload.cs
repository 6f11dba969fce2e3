using Microsoft.ML.OnnxRuntime;
using StreamMl.Engine;
using StreamMl.Operators.Drift;
using StreamMl.Operators.Features;

namespace StreamMl.Benchmarks.Harness.Scenarios;

/// <summary>What S2's variants share, built once per process: the replayed sensor rows, a feature pipeline that
/// standardises the 32 readings and one-hot encodes the device (8 categories + unknown), a gradient-boosted tree
/// model (ML.NET FastTree exported to ONNX) trained on those features, the drift reference profile of the readings,
/// and the plain parameters the row-by-row peers compute with.</summary>
public sealed class SensorWorkload
{
    /// <summary>Readings per row.</summary>
    public const int Readings = 32;

    /// <summary>Validation bound: a reading outside ±this is rejected.</summary>
    public const float Bound = 1e4f;

    private static readonly Lazy<SensorWorkload> s_instance = new(() => new SensorWorkload());

    /// <summary>The shared instance.</summary>
    public static SensorWorkload Instance => s_instance.Value;

    private SensorWorkload()
    {
        var template = ReplaySource.Template;
        Features = FeaturePipeline.Create("sensor-features")
            .StandardScale(Enumerable.Range(0, Readings).Select(i => $"f{i}").ToArray())
            .OneHot("device", maxCategories: 8)
            .Build().Fit([template]);
        var f0 = template.Values<float>(template.Schema.Require("f0")).ToArray();
        var f1 = template.Values<float>(template.Schema.Require("f1")).ToArray();
        var labels = Enumerable.Range(0, template.Length).Select(r => f0[r] + 0.5f * f1[r] > 21f).ToArray();
        OnnxBytes = WorkloadTraining.FastTreeOnnx(WorkloadTraining.Matrix(Features, [template]), labels, Features.FeatureCount, leaves: 16, trees: 50, seed: 1);

        var profile = new ReferenceProfileBuilder(new ProfileOptions { Columns = Enumerable.Range(0, Readings).Select(i => $"f{i}").ToArray() });
        profile.Add(template);
        Profile = profile.Build();
        Means = new float[Readings];
        Stds = new float[Readings];
        for (var f = 0; f < Readings; f++)
        {
            var values = template.Values<float>(template.Schema.Require($"f{f}"));
            double sum = 0, squares = 0;
            foreach (var v in values) { sum += v; squares += (double)v * v; }
            var mean = sum / values.Length;
            Means[f] = (float)mean;
            Stds[f] = (float)Math.Sqrt(squares / values.Length - mean * mean);
        }
        Devices = [.. template["device"].Dictionary!.Values.Order(StringComparer.Ordinal).Take(8)];
        Edges = Enumerable.Range(0, Readings).Select(f => QuantileEdges(template.Values<float>(template.Schema.Require($"f{f}")).ToArray(), 20)).ToArray();
    }

    /// <summary>The fitted feature pipeline (StreamMl variant).</summary>
    public FeaturePipeline Features { get; }

    /// <summary>The ONNX model.</summary>
    public byte[] OnnxBytes { get; }

    /// <summary>Drift reference of f0..f31.</summary>
    public ReferenceProfile Profile { get; }

    /// <summary>Per-reading means, for the peers.</summary>
    public float[] Means { get; }

    /// <summary>Per-reading population standard deviations, for the peers.</summary>
    public float[] Stds { get; }

    /// <summary>One-hot categories, for the peers (the pipeline keeps the same eight).</summary>
    public string[] Devices { get; }

    /// <summary>Per-reading quantile bin edges, for the peers' drift counts.</summary>
    public float[][] Edges { get; }

    /// <summary>Width of the feature vector.</summary>
    public int Width => Readings + Devices.Length + 1;

    private static float[] QuantileEdges(float[] values, int bins)
    {
        Array.Sort(values);
        return Enumerable.Range(1, bins - 1).Select(i => values[(int)((long)i * (values.Length - 1) / bins)]).ToArray();
    }

}

/// <summary>A sensor row as the peers hold it: one object per reading set, as their users write it.</summary>
public sealed class SensorRow
{
    /// <summary>Device id.</summary>
    public required string Device { get; init; }

    /// <summary>Event time, UTC microseconds.</summary>
    public long Time { get; init; }

    /// <summary>The 32 readings.</summary>
    public required float[] Readings { get; init; }

    /// <summary>Feature vector, once computed.</summary>
    public float[]? Features { get; set; }

    /// <summary>Fault probability, once scored.</summary>
    public float Probability { get; set; }

    /// <summary>When the row was made (Stopwatch ticks), for latency.</summary>
    public long CreatedAt { get; init; }
}

/// <summary>The per-row steps of S2's peers: the same work as StreamMl's operators, written as plain functions.</summary>
public sealed class SensorRowSteps : IDisposable
{
    private readonly SensorWorkload _workload = SensorWorkload.Instance;
    private readonly InferenceSession _session;
    private readonly string _input;
    private readonly long[][] _binCounts;
    private readonly double[] _mean = new double[SensorWorkload.Readings];
    private readonly double[] _m2 = new double[SensorWorkload.Readings];
    private long _rows;

    /// <summary>Loads the model.</summary>
    public SensorRowSteps()
    {
        _session = new InferenceSession(_workload.OnnxBytes);
        _input = _session.InputMetadata.Keys.First(k => k != "Label");
        _binCounts = _workload.Edges.Select(e => new long[e.Length + 1]).ToArray();
    }

    /// <summary>Rows that reached the drift step.</summary>
    public long Rows => _rows;

    /// <summary>Makes row <paramref name="index"/> of the replay template into an object.</summary>
    public static SensorRow Generate(long index)
    {
        var template = ReplaySource.Template;
        var row = (int)(index % template.Length);
        var readings = new float[SensorWorkload.Readings];
        for (var f = 0; f < readings.Length; f++) readings[f] = template[2 + f].Values<float>()[row];
        var device = template["device"];
        return new SensorRow
        {
            Device = device.Dictionary![device.Values<int>()[row]],
            Time = template.EventTimes[row],
            Readings = readings,
            CreatedAt = System.Diagnostics.Stopwatch.GetTimestamp(),
        };
    }

    /// <summary>True when every reading is finite and within bounds.</summary>
    public static bool Validate(SensorRow row)
    {
        foreach (var value in row.Readings)
            if (!float.IsFinite(value) || Math.Abs(value) > SensorWorkload.Bound) return false;
        return true;
    }

    /// <summary>Standardises the readings and one-hot encodes the device.</summary>
    public SensorRow Featurize(SensorRow row)
    {
        var features = new float[_workload.Width];
        for (var f = 0; f < SensorWorkload.Readings; f++) features[f] = (row.Readings[f] - _workload.Means[f]) / _workload.Stds[f];
        var category = Array.IndexOf(_workload.Devices, row.Device);
        features[SensorWorkload.Readings + (category < 0 ? _workload.Devices.Length : category)] = 1f;
        row.Features = features;
        return row;
    }

    /// <summary>Scores one row with ONNX Runtime.</summary>
    public SensorRow Score(SensorRow row)
    {
        using var input = OrtValue.CreateTensorValueFromMemory(row.Features!, [1, row.Features!.Length]);
        using var label = OrtValue.CreateTensorValueFromMemory(new bool[1], [1, 1]);
        using var outputs = _session.Run(new RunOptions(), [_input, "Label"], [input, label], ["Probability.output"]);
        row.Probability = outputs[0].GetTensorDataAsSpan<float>()[0];
        return row;
    }

    /// <summary>Welford moments and reference-bin counts of every reading.</summary>
    public void Drift(SensorRow row)
    {
        _rows++;
        for (var f = 0; f < SensorWorkload.Readings; f++)
        {
            var value = row.Readings[f];
            var delta = value - _mean[f];
            _mean[f] += delta / _rows;
            _m2[f] += delta * (value - _mean[f]);
            var edges = _workload.Edges[f];
            var bin = Array.BinarySearch(edges, value);
            _binCounts[f][bin < 0 ? ~bin : bin + 1]++;
        }
    }

    /// <summary>Frees the session.</summary>
    public void Dispose() => _session.Dispose();
}

using BenchmarkDotNet.Attributes;
using StreamMl.Engine;
using StreamMl.Operators.Drift;

namespace StreamMl.Benchmarks.Drift;

/// <summary>Drift update of one 4096-row batch of 32 float32 features (Welford moments, missing counts, reference-bin
/// counts for PSI/JS/KS/Wasserstein), against a scalar reference path and a memcpy of the same bytes.</summary>
[MemoryDiagnoser]
public class DriftUpdateBenchmarks
{
    private const int Features = 32;
    private const int Rows = 4096;
    private ColumnBatch _batch = null!;
    private ColumnBatch _copy = null!;
    private DriftOperator _simd = null!;
    private DriftOperator _scalar = null!;
    private DriftOperator _windowed = null!;
    private StageContext _context = null!;
    private long _time;

    /// <summary>Quantile bins per feature.</summary>
    [Params(10, 20)]
    public int Bins { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var schema = new Schema(Enumerable.Range(0, Features).Select(i => new Field($"f{i}", ColumnType.Float32)));
        var rng = new Random(1);
        var builder = new ReferenceProfileBuilder(new ProfileOptions { Bins = Bins });
        for (var f = 0; f < Features; f++)
            builder.AddNumeric($"f{f}", Enumerable.Range(0, 20_000).Select(_ => Normal(rng) * (f + 1)).ToArray());
        var profile = builder.Build();
        _batch = new ColumnBatch(schema, Rows);
        _copy = new ColumnBatch(schema, Rows);
        for (var f = 0; f < Features; f++)
        {
            var values = _batch[f].Values<float>();
            for (var r = 0; r < Rows; r++) values[r] = (float)(Normal(rng) * (f + 1) + 0.1);
        }
        _batch.Length = Rows;
        for (var r = 0; r < Rows; r++) _batch.EventTimesBuffer[r] = r;
        _simd = Create(new DriftOptions { Profile = profile }, schema);
        _scalar = Create(new DriftOptions { Profile = profile, UseSimd = false }, schema);
        _windowed = Create(new DriftOptions { Profile = profile, Window = DriftWindow.Tumbling(TimeSpan.FromMicroseconds(4 * Rows)) }, schema);
        _context = StageContext.Standalone("bench");
    }

    private static DriftOperator Create(DriftOptions options, Schema schema)
    {
        var op = new DriftOperator(options);
        op.Bind(schema);
        return op;
    }

    /// <summary>The physical limit: copying the batch's 512 KiB of feature values once.</summary>
    [Benchmark(Baseline = true)]
    public void MemcpyBatch()
    {
        for (var f = 0; f < Features; f++) _batch[f].Values<float>()[..Rows].CopyTo(_copy[f].Values<float>());
    }

    /// <summary>Scalar reference: Welford per value and a binary search per value for the bin.</summary>
    [Benchmark]
    public void DriftScalar() => _scalar.Process(_batch, _context);

    /// <summary>The vector kernel (lifetime scope).</summary>
    [Benchmark]
    public void DriftSimd() => _simd.Process(_batch, _context);

    /// <summary>The vector kernel with tumbling event-time windows that close every fourth batch on the watermark.</summary>
    [Benchmark]
    public void DriftSimdWindowed()
    {
        var times = _batch.EventTimes;
        for (var r = 0; r < times.Length; r++) times[r] = _time + r;
        _time += Rows;
        _batch.Watermark = _time - 1;
        _windowed.Process(_batch, _context);
    }

    private static double Normal(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}

/// <summary>Cost of one concept-drift detector update (4096 values per invocation).</summary>
[MemoryDiagnoser]
public class DetectorBenchmarks
{
    private const int Values = 4096;
    private readonly double[] _gaussian = new double[Values];
    private readonly double[] _errors = new double[Values];
    private Adwin _adwin = null!;
    private PageHinkley _pageHinkley = null!;
    private Ddm _ddm = null!;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(2);
        for (var i = 0; i < Values; i++)
        {
            _gaussian[i] = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
            _errors[i] = rng.NextDouble() < 0.1 ? 1 : 0;
        }
        _adwin = new Adwin();
        _pageHinkley = new PageHinkley(delta: 0.5, lambda: 25, alpha: 1);
        _ddm = new Ddm();
        // Fill ADWIN's window so the benchmark measures a long-running detector (about 100k values, 60+ buckets).
        for (var i = 0; i < 25; i++) foreach (var v in _gaussian) _adwin.Update(v);
    }

    /// <summary>A plain loop summing the values: the cost floor of touching them.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Values)]
    public double SumLoop()
    {
        var s = 0.0;
        foreach (var v in _gaussian) s += v;
        return s;
    }

    [Benchmark(OperationsPerInvoke = Values)]
    public long AdwinUpdate()
    {
        foreach (var v in _gaussian) _adwin.Update(v);
        return _adwin.Width;
    }

    [Benchmark(OperationsPerInvoke = Values)]
    public long PageHinkleyUpdate()
    {
        foreach (var v in _gaussian) _pageHinkley.Update(v);
        return _pageHinkley.Samples;
    }

    [Benchmark(OperationsPerInvoke = Values)]
    public long DdmUpdate()
    {
        foreach (var v in _errors) _ddm.Update(v);
        return _ddm.Samples;
    }
}

/// <summary>The numeric kernel alone on one 4096-value feature with 19 edges (20 bins), per vector width: the data
/// behind the choice of 512-bit edge sweeps.</summary>
[MemoryDiagnoser]
public class DriftKernelBenchmarks
{
    private readonly float[] _values = new float[4096];
    private readonly float[] _scratch = new float[4096];
    private float[] _edges = [];
    private readonly long[] _less = new long[19];

    /// <summary>0 = scalar reference, 256 or 512 = widest vectors allowed.</summary>
    [Params(0, 256, 512)]
    public int Width { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(3);
        for (var i = 0; i < _values.Length; i++)
            _values[i] = (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
        var sorted = _values.Select(v => (double)v).Order().ToArray();
        _edges = [.. ReferenceProfileBuilder.QuantileEdges(sorted, 20).Select(StreamMl.Operators.Drift.Internal.NumericKernel.RoundUp)];
    }

    [Benchmark(OperationsPerInvoke = 4096)]
    public long PerValue()
    {
        var moments = new RunningMoments();
        var tails = new StreamMl.Operators.Drift.Internal.BinnedTails();
        StreamMl.Operators.Drift.Internal.NumericKernel.Accumulate(_values, _edges, _less, ref moments, ref tails, _scratch,
            (StreamMl.Operators.Drift.Internal.SimdWidth)Width);
        return moments.Count;
    }
}

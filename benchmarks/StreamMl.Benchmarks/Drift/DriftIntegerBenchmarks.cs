using BenchmarkDotNet.Attributes;
using StreamMl.Engine;
using StreamMl.Operators.Drift;

namespace StreamMl.Benchmarks.Drift;

/// <summary>Drift update of one 4096-row batch of 23 features shaped like the S6 credit columns (amounts up to 10^6,
/// counts, small codes), held as int64 against the same values as float32 (the float path is the peer), plus the
/// int64 columns through the plain conversion path (<c>UseSimd = false</c>) and as integer categories.</summary>
[MemoryDiagnoser]
public class DriftIntegerBenchmarks
{
    private const int Features = 23;
    private const int Rows = 4096;
    private ColumnBatch _longs = null!;
    private ColumnBatch _floats = null!;
    private DriftOperator _floatDrift = null!;
    private DriftOperator _longDrift = null!;
    private DriftOperator _longScalar = null!;
    private DriftOperator _longCategorical = null!;
    private StageContext _context = null!;

    /// <summary>Quantile bins per feature.</summary>
    [Params(10, 20)]
    public int Bins { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var names = Enumerable.Range(0, Features).Select(i => $"f{i}").ToArray();
        var longSchema = new Schema(names.Select(n => new Field(n, ColumnType.Int64)));
        var floatSchema = new Schema(names.Select(n => new Field(n, ColumnType.Float32)));
        var rng = new Random(1);
        long Draw(int f) => (f % 3) switch { 0 => rng.Next(0, 1_000_000), 1 => rng.Next(20, 80), _ => rng.Next(-2, 9) };
        var builder = new ReferenceProfileBuilder(new ProfileOptions { Bins = Bins });
        for (var f = 0; f < Features; f++) builder.AddNumeric(names[f], Enumerable.Range(0, 20_000).Select(_ => (double)Draw(f)).ToArray());
        var profile = builder.Build();
        var categories = new ReferenceProfile
        {
            Features = [.. names.Select(n => new FeatureProfile
            {
                Name = n, Kind = FeatureKind.Categorical, Count = 11, Categories = [.. Enumerable.Range(-2, 11).Select(c => c.ToString(System.Globalization.CultureInfo.InvariantCulture))],
                CategoryCounts = [.. Enumerable.Repeat(1L, 11), 0],
            })],
        };
        _longs = new ColumnBatch(longSchema, Rows);
        _floats = new ColumnBatch(floatSchema, Rows);
        for (var f = 0; f < Features; f++)
        {
            for (var r = 0; r < Rows; r++)
            {
                var v = Draw(f);
                _longs[f].Values<long>()[r] = v;
                _floats[f].Values<float>()[r] = v;
            }
        }
        _longs.Length = Rows;
        _floats.Length = Rows;
        _floatDrift = Create(new DriftOptions { Profile = profile }, floatSchema);
        _longDrift = Create(new DriftOptions { Profile = profile }, longSchema);
        _longScalar = Create(new DriftOptions { Profile = profile, UseSimd = false }, longSchema);
        _longCategorical = Create(new DriftOptions { Profile = categories }, longSchema);
        _context = StageContext.Standalone("bench");
    }

    private static DriftOperator Create(DriftOptions options, Schema schema)
    {
        var op = new DriftOperator(options);
        op.Bind(schema);
        return op;
    }

    /// <summary>The peer: the same values as float32 through the float kernel.</summary>
    [Benchmark(Baseline = true)]
    public void Float32() => _floatDrift.Process(_floats, _context);

    /// <summary>Int64 columns binned by integer thresholds.</summary>
    [Benchmark]
    public void Int64() => _longDrift.Process(_longs, _context);

    /// <summary>Int64 columns through the plain path: each value converted, Welford, binary search.</summary>
    [Benchmark]
    public void Int64Scalar() => _longScalar.Process(_longs, _context);

    /// <summary>Int64 columns as categories (codes −2..8 in the profile; most rows of the amount columns are "other").</summary>
    [Benchmark]
    public void Int64Categorical() => _longCategorical.Process(_longs, _context);
}

/// <summary>The same four variants timed by the thread's CPU time instead of wall time (<c>clock_gettime</c> with
/// <c>CLOCK_THREAD_CPUTIME_ID</c>), interleaved sample by sample: on the shared two-core machine wall-clock
/// benchmarks of microsecond operations mostly measure preemption. Run with
/// <c>dotnet run -c Release --project benchmarks/StreamMl.Benchmarks -- drift-int-cpu</c>.</summary>
internal static class DriftIntegerCpuProbe
{
    public static int Run(TextWriter output)
    {
        const int OpsPerSample = 200;
        const int Samples = 21;
        output.WriteLine("bins | variant | median CPU µs per 4096-row batch | rows/s (CPU) | vs Float32");
        foreach (var bins in new[] { 10, 20 })
        {
            var bench = new DriftIntegerBenchmarks { Bins = bins };
            bench.Setup();
            (string Name, Action Op)[] variants =
                [("Float32", bench.Float32), ("Int64", bench.Int64), ("Int64Scalar", bench.Int64Scalar), ("Int64Categorical", bench.Int64Categorical)];
            var times = variants.Select(_ => new List<double>()).ToArray();
            for (var sample = -3; sample < Samples; sample++)
            {
                for (var v = 0; v < variants.Length; v++)
                {
                    var ops = variants[v].Name == "Int64Scalar" ? OpsPerSample / 10 : OpsPerSample;
                    var start = ThreadCpuMicros();
                    for (var i = 0; i < ops; i++) variants[v].Op();
                    var perOp = (ThreadCpuMicros() - start) / ops;
                    if (sample >= 0) times[v].Add(perOp);
                }
            }
            var medians = times.Select(t => t.Order().ElementAt(t.Count / 2)).ToArray();
            for (var v = 0; v < variants.Length; v++)
                output.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"{bins} | {variants[v].Name} | {medians[v]:F1} | {4096 / medians[v]:F2} M | {medians[v] / medians[0]:F2}"));
        }
        return 0;
    }

    internal static double ThreadCpuMicros()
    {
        _ = ClockGetTime(3, out var spec); // CLOCK_THREAD_CPUTIME_ID
        return spec.Seconds * 1e6 + spec.Nanoseconds / 1e3;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec spec);

    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}

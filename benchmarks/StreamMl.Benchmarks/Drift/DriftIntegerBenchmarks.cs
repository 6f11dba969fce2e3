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

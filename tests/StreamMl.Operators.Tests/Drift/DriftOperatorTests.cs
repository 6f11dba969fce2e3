using StreamMl.Engine;
using StreamMl.Operators.Drift;

namespace StreamMl.Operators.Tests.Drift;

/// <summary>The drift operator driven batch by batch, checked against brute-force computations over the same rows.</summary>
public sealed class DriftOperatorTests
{
    internal static readonly Schema s_schema = new(
        new Field("x", ColumnType.Float32), new Field("y", ColumnType.Float64),
        new Field("c", ColumnType.String), new Field("k", ColumnType.Int32), new Field("score", ColumnType.Float32));

    private static readonly string[] s_colors = ["red", "green", "blue"];

    /// <summary>One generated row; null fields are null in the batch.</summary>
    internal sealed record Row(long Time, float? X, double? Y, string? C, int? K, float Score, bool Selected = true);

    internal static List<Row> Generate(int count, int seed, double shift = 0, long startTime = 0, long step = 1, double nullRate = 0,
        double deselectRate = 0, double[]? colorWeights = null)
    {
        var rng = new Random(seed);
        var weights = colorWeights ?? [0.5, 0.3, 0.2];
        var rows = new List<Row>(count);
        for (var i = 0; i < count; i++)
        {
            float? x = (float)(DriftStatisticsProperties.Normal(rng) + shift);
            if (rng.NextDouble() < nullRate) x = rng.Next(2) == 0 ? null : float.NaN;
            double? y = rng.NextDouble() * 10 + shift;
            if (rng.NextDouble() < nullRate) y = null;
            var u = rng.NextDouble();
            string? c = u < weights[0] ? s_colors[0] : u < weights[0] + weights[1] ? s_colors[1] : s_colors[2];
            if (rng.NextDouble() < nullRate) c = null;
            else if (rng.NextDouble() < 0.01) c = "purple"; // never in the reference
            int? k = rng.Next(4);
            if (rng.NextDouble() < nullRate) k = null;
            rows.Add(new Row(startTime + i * step, x, y, c, k, (float)rng.NextDouble(), rng.NextDouble() >= deselectRate));
        }
        return rows;
    }

    internal static ColumnBatch Fill(ColumnBatch batch, IReadOnlyList<Row> rows, long watermark = ColumnBatch.NoWatermark)
    {
        batch.Reset();
        var x = batch["x"];
        var y = batch["y"];
        var c = batch["c"];
        var k = batch["k"];
        var score = batch["score"];
        for (var i = 0; i < rows.Count; i++)
        {
            var r = rows[i];
            if (r.X is { } xv) x.Values<float>()[i] = xv; else x.SetNull(i);
            if (r.Y is { } yv) y.Values<double>()[i] = yv; else y.SetNull(i);
            if (r.C is { } cv) c.Values<int>()[i] = c.Dictionary!.GetOrAdd(cv); else c.SetNull(i);
            if (r.K is { } kv) k.Values<int>()[i] = kv; else k.SetNull(i);
            score.Values<float>()[i] = r.Score;
            batch.EventTimesBuffer[i] = r.Time;
        }
        batch.Length = rows.Count;
        for (var i = 0; i < rows.Count; i++)
            if (!rows[i].Selected) batch.Selection.Deselect(i);
        batch.Watermark = watermark;
        return batch;
    }

    internal static ReferenceProfile BuildProfile(IReadOnlyList<Row> rows, int bins = 20)
    {
        var builder = new ReferenceProfileBuilder(new ProfileOptions
        {
            Columns = ["x", "y", "c", "k"], CategoricalColumns = ["k"], Bins = bins,
        });
        using var batch = new ColumnBatch(s_schema, 4096);
        foreach (var chunk in rows.Chunk(4096)) builder.Add(Fill(batch, chunk));
        return builder.Build();
    }

    [Fact]
    public void ProfileMatchesSortedTrainingData()
    {
        var rows = Generate(10_000, seed: 1, nullRate: 0.05);
        var profile = BuildProfile(rows);
        var xs = rows.Where(r => r.X is { } v && float.IsFinite(v)).Select(r => (double)r.X!.Value).ToArray();
        var x = profile.Find("x")!;
        Assert.Equal(xs.Length, x.Count);
        Assert.Equal(rows.Count - xs.Length, x.Missing);
        Assert.Equal(ExactReference.BinCounts(xs, x.Edges), x.BinCounts);
        // Quantile bins: with distinct values each of the 20 bins holds 5% of the rows, up to rounding.
        Assert.All(x.BinCounts, count => Assert.InRange(count, xs.Length / 20 - 1, xs.Length / 20 + 1));
        var (mean, variance) = ExactReference.TwoPass(xs);
        Assert.Equal(mean, x.Mean, tolerance: 1e-12);
        Assert.Equal(Math.Sqrt(variance), x.StdDev, tolerance: 1e-12);

        var colors = rows.Where(r => r.C is not null).GroupBy(r => r.C!).ToDictionary(g => g.Key, g => (long)g.Count());
        var c = profile.Find("c")!;
        Assert.Equal(FeatureKind.Categorical, c.Kind);
        for (var i = 0; i < c.Categories.Length; i++) Assert.Equal(colors[c.Categories[i]], c.CategoryCounts[i]);
        Assert.Equal(colors.Values.Sum(), c.Count);
        var k = profile.Find("k")!;
        Assert.Equal(["0", "1", "2", "3"], k.Categories.Order());
    }

    [Fact]
    public void ProfileJsonRoundTripIsBitIdentical()
    {
        var profile = BuildProfile(Generate(3000, seed: 2, nullRate: 0.02));
        var json = profile.ToJson();
        var back = ReferenceProfile.FromJson(json);
        Assert.Equal(json, back.ToJson());
        foreach (var (a, b) in profile.Features.Zip(back.Features))
        {
            Assert.Equal(a.Edges.Select(BitConverter.DoubleToInt64Bits), b.Edges.Select(BitConverter.DoubleToInt64Bits));
            Assert.Equal(BitConverter.DoubleToInt64Bits(a.Mean), BitConverter.DoubleToInt64Bits(b.Mean));
            Assert.Equal(BitConverter.DoubleToInt64Bits(a.StdDev), BitConverter.DoubleToInt64Bits(b.StdDev));
            Assert.Equal(a.BinCounts, b.BinCounts);
            Assert.Equal(a.Categories, b.Categories);
            Assert.Equal(a.CategoryCounts, b.CategoryCounts);
        }
        Assert.Contains("\"edges\"", json);
        var broken = json.Replace("\"version\": 1", "\"version\": 99");
        var error = Assert.ThrowsAny<StreamMlException>(() => ReferenceProfile.FromJson(broken));
        Assert.Contains("version 99", error.Message);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void LifetimeReportMatchesBruteForceOverTheSelectedRows(bool useSimd)
    {
        var profile = BuildProfile(Generate(20_000, seed: 3));
        var drift = new DriftOperator(new DriftOptions { Profile = profile, UseSimd = useSimd });
        drift.Bind(s_schema);
        var rows = Generate(9_000, seed: 4, shift: 0.3, nullRate: 0.03, deselectRate: 0.1);
        using var batch = new ColumnBatch(s_schema, 1000);
        var context = StageContext.Standalone("drift");
        foreach (var chunk in rows.Chunk(1000)) drift.Process(Fill(batch, chunk), context);

        var report = drift.GetReport();
        var live = rows.Where(r => r.Selected).ToList();
        Assert.Equal(live.Count, report.Rows);

        var xs = live.Where(r => r.X is { } v && float.IsFinite(v)).Select(r => (double)r.X!.Value).ToArray();
        var x = report.Features.Single(f => f.Name == "x");
        var xProfile = profile.Find("x")!;
        Assert.Equal(xs.Length, x.Count);
        Assert.Equal(live.Count - xs.Length, x.Missing);
        var (mean, variance) = ExactReference.TwoPass(xs);
        Assert.Equal(mean, x.Mean!.Value, tolerance: 1e-10);
        Assert.Equal(Math.Sqrt(variance), x.StdDev!.Value, tolerance: 1e-10);
        Assert.Equal(xs.Min(), x.Min);
        Assert.Equal(xs.Max(), x.Max);
        var bins = ExactReference.BinCounts(xs, xProfile.Edges);
        Assert.Equal(bins, x.Counts);
        Assert.Equal(ExactReference.Psi(xProfile.BinCounts, bins, 1e-4), x.Psi!.Value, tolerance: 1e-10);
        Assert.Equal(ExactReference.JensenShannon(xProfile.BinCounts, bins), x.JensenShannon!.Value, tolerance: 1e-10);

        var ys = live.Where(r => r.Y is not null).Select(r => r.Y!.Value).ToArray();
        var y = report.Features.Single(f => f.Name == "y");
        Assert.Equal(ys.Length, y.Count);
        Assert.Equal(ExactReference.TwoPass(ys).Mean, y.Mean!.Value, tolerance: 1e-10);
        Assert.Equal(ExactReference.BinCounts(ys, profile.Find("y")!.Edges), y.Counts);

        var c = report.Features.Single(f => f.Name == "c");
        var cProfile = profile.Find("c")!;
        var colorCounts = cProfile.Categories.Select(cat => (long)live.Count(r => r.C == cat)).ToList();
        colorCounts.Add(live.Count(r => r.C is not null && !cProfile.Categories.Contains(r.C)));
        Assert.Equal(colorCounts, c.Counts);
        Assert.Equal(live.Count(r => r.C is null), c.Missing);
        Assert.Equal(ExactReference.Psi(cProfile.CategoryCounts, [.. colorCounts], 1e-4), c.Psi!.Value, tolerance: 1e-10);
        Assert.Equal((double)colorCounts[^1] / colorCounts.Sum(), c.UnseenRate!.Value, tolerance: 1e-12);

        var k = report.Features.Single(f => f.Name == "k");
        var kProfile = profile.Find("k")!;
        Assert.Equal(kProfile.Categories.Select(cat => (long)live.Count(r => r.K?.ToString() == cat)), k.Counts.Take(kProfile.Categories.Length));
    }

    [Fact]
    public void StatusIsOkOnTheSameDistributionAndDriftOnAShift()
    {
        var profile = BuildProfile(Generate(20_000, seed: 5));
        var context = StageContext.Standalone("drift");
        using var batch = new ColumnBatch(s_schema, 4096);

        var same = new DriftOperator(new DriftOptions { Profile = profile });
        same.Bind(s_schema);
        foreach (var chunk in Generate(8_000, seed: 6).Chunk(4096)) same.Process(Fill(batch, chunk), context);
        var ok = same.GetReport();
        Assert.All(ok.Features, f => Assert.Equal(DriftStatus.Ok, f.Status));
        Assert.Equal(DriftStatus.Ok, ok.Status);

        var shifted = new DriftOperator(new DriftOptions { Profile = profile });
        shifted.Bind(s_schema);
        var drifting = Generate(8_000, seed: 7, shift: 1.0, nullRate: 0.3, colorWeights: [0.1, 0.2, 0.7]);
        foreach (var chunk in drifting.Chunk(4096)) shifted.Process(Fill(batch, chunk), context);
        var report = shifted.GetReport();
        var x = report.Features.Single(f => f.Name == "x");
        Assert.Equal(DriftStatus.Drift, x.Status);
        Assert.Contains("psi", x.Reason);
        Assert.Contains("missing rate increase", x.Reason);
        Assert.Equal(DriftStatus.Drift, report.Features.Single(f => f.Name == "c").Status);
        Assert.Equal(DriftStatus.Drift, report.Status);

        // The report survives JSON, which is how the host serves it.
        var back = DriftReport.FromJson(report.ToJson());
        Assert.Equal(report.ToJson(), back.ToJson());
        Assert.Contains("\"status\": \"Drift\"", report.ToJson());
    }

    [Theory]
    [InlineData(1000, 1000)]
    [InlineData(3000, 1000)]
    public void WindowsCloseOnTheWatermarkAndMatchBruteForce(long size, long slide)
    {
        var profile = BuildProfile(Generate(10_000, seed: 8));
        var window = size == slide
            ? DriftWindow.Tumbling(TimeSpan.FromMicroseconds(size))
            : DriftWindow.Sliding(TimeSpan.FromMicroseconds(size), TimeSpan.FromMicroseconds(slide));
        var notified = new List<DriftReport>();
        var drift = new DriftOperator(new DriftOptions { Profile = profile, Window = window, WindowHistory = 64, WindowClosed = notified.Add });
        drift.Bind(s_schema);
        // Rows 3 µs apart with jitter of up to 40 µs (out of order), watermark 50 µs behind the newest row.
        var rows = Generate(6_000, seed: 9, step: 3, deselectRate: 0.05);
        var rng = new Random(10);
        rows = [.. rows.Select(r => r with { Time = r.Time + 5_000 + rng.Next(40) })];
        using var batch = new ColumnBatch(s_schema, 500);
        var context = StageContext.Standalone("drift");
        var maxTime = long.MinValue;
        foreach (var chunk in rows.Chunk(500))
        {
            maxTime = Math.Max(maxTime, chunk.Max(r => r.Time));
            drift.Process(Fill(batch, chunk, watermark: maxTime - 50), context);
        }
        drift.Complete(context);

        var windows = drift.GetWindowReports();
        Assert.NotEmpty(windows);
        Assert.Equal(drift.WindowsClosed, windows.Count);
        Assert.Equal(windows.Select(w => w.ToJson()), notified.Select(w => w.ToJson()));
        var xEdges = profile.Find("x")!.Edges;
        foreach (var w in windows)
        {
            Assert.Equal(size, w.WindowEnd - w.WindowStart);
            Assert.Equal(0, w.WindowStart!.Value % slide);
            var inWindow = rows.Where(r => r.Selected && r.Time >= w.WindowStart && r.Time < w.WindowEnd).ToList();
            Assert.Equal(inWindow.Count, w.Rows);
            var xs = inWindow.Select(r => (double)r.X!.Value).ToArray();
            var x = w.Features.Single(f => f.Name == "x");
            Assert.Equal(ExactReference.BinCounts(xs, xEdges), x.Counts);
            Assert.Equal(ExactReference.TwoPass(xs).Mean, x.Mean!.Value, tolerance: 1e-10);
        }
        // Every window that holds a row was emitted: consecutive windows cover the whole time range.
        var first = rows.Min(r => r.Time) / slide * slide;
        var last = rows.Max(r => r.Time) / slide * slide + slide;
        Assert.Equal((last - first) / slide + size / slide - 1, windows.Count);
        Assert.Equal(0, drift.LateRows);
        Assert.Equal(rows.Count(r => r.Selected), drift.GetReport().Rows);
    }

    [Fact]
    public void LateRowsAreCountedAndKeptInTheLifetimeScope()
    {
        var profile = BuildProfile(Generate(5_000, seed: 11));
        var drift = new DriftOperator(new DriftOptions { Profile = profile, Window = DriftWindow.Tumbling(TimeSpan.FromMicroseconds(1000)) });
        drift.Bind(s_schema);
        using var batch = new ColumnBatch(s_schema, 1000);
        var context = StageContext.Standalone("drift");
        drift.Process(Fill(batch, Generate(1000, seed: 12, startTime: 0, step: 2), watermark: 1999), context);
        Assert.Equal(2, drift.WindowsClosed);
        var late = Generate(300, seed: 13, startTime: 100, step: 3);
        drift.Process(Fill(batch, late, watermark: 1999), context);
        Assert.Equal(300, drift.LateRows);
        var report = drift.GetReport();
        Assert.Equal(1300, report.Rows);
        Assert.Equal(300, report.LateRows);
        Assert.Equal(2, drift.WindowsClosed);
    }

    [Fact]
    public void SteadyStateProcessingAllocatesNothing()
    {
        var profile = BuildProfile(Generate(10_000, seed: 14));
        var drift = new DriftOperator(new DriftOptions
        {
            Profile = profile,
            Window = DriftWindow.Sliding(TimeSpan.FromMicroseconds(4000), TimeSpan.FromMicroseconds(2000)),
            Monitors = [new ScalarMonitor("score", new Adwin()), new ScalarMonitor("score", new PageHinkley())],
        });
        drift.Bind(s_schema);
        var context = StageContext.Standalone("drift");
        // Prebuilt batches (with nulls and deselected rows) replayed with advancing times: windows close every batch.
        var batches = Enumerable.Range(0, 4).Select(i =>
        {
            var b = new ColumnBatch(s_schema, 1024);
            Fill(b, Generate(1024, seed: 20 + i, nullRate: 0.02, deselectRate: i == 3 ? 0.1 : 0));
            return b;
        }).ToArray();
        long time = 0;
        void Run(int count)
        {
            for (var i = 0; i < count; i++)
            {
                var b = batches[i % batches.Length];
                var times = b.EventTimes;
                for (var r = 0; r < times.Length; r++) times[r] = time + r;
                time += times.Length;
                b.Watermark = time - 1;
                drift.Process(b, context);
            }
        }
        Run(64);
        var allocated = SteadyState.AllocatedBytes(() => Run(256), 1);
        Assert.Equal(0, allocated);
        Assert.True(drift.WindowsClosed > 150, $"windows closed: {drift.WindowsClosed}");
        foreach (var b in batches) b.Dispose();
    }

    [Fact]
    public void BindNamesTheMissingColumn()
    {
        var profile = BuildProfile(Generate(1000, seed: 15));
        var drift = new DriftOperator(new DriftOptions { Profile = profile });
        var error = Assert.Throws<SchemaMismatchException>(() => drift.Bind(new Schema(new Field("x", ColumnType.Float32))));
        Assert.Contains("'y'", error.Message);
        var typed = Assert.Throws<SchemaMismatchException>(() => new DriftOperator(new DriftOptions { Profile = profile, Features = ["c"] })
            .Bind(new Schema(new Field("c", ColumnType.Float32))));
        Assert.Contains("categorical", typed.Message);
    }
}

/// <summary>Column types and degenerate profiles the main generator does not cover.</summary>
public sealed class DriftOperatorEdgeCaseTests
{
    private static readonly Schema s_schema = new(
        new Field("flag", ColumnType.Bool), new Field("code", ColumnType.Int64), new Field("constant", ColumnType.Float32),
        new Field("wide", ColumnType.Float64));

    private static ColumnBatch Fill(ColumnBatch batch, int rows, Func<int, (bool Flag, long Code, float Constant, double Wide)> row)
    {
        batch.Reset();
        for (var i = 0; i < rows; i++)
        {
            var (flag, code, constant, wide) = row(i);
            batch[0].Values<byte>()[i] = flag ? (byte)1 : (byte)0;
            batch[1].Values<long>()[i] = code;
            batch[2].Values<float>()[i] = constant;
            batch[3].Values<double>()[i] = wide;
        }
        batch.Length = rows;
        return batch;
    }

    [Fact]
    public void BoolAndInt64CategoriesAndAConstantFeatureAreMonitored()
    {
        using var batch = new ColumnBatch(s_schema, 2000);
        var builder = new ReferenceProfileBuilder(new ProfileOptions { CategoricalColumns = ["code"] });
        builder.Add(Fill(batch, 2000, i => (i % 4 == 0, 1_000_000_000_000L + i % 3, 5f, i * 0.5)));
        var profile = builder.Build();
        Assert.Equal(FeatureKind.Categorical, profile.Find("flag")!.Kind);
        Assert.Equal(["1000000000000", "1000000000001", "1000000000002"], profile.Find("code")!.Categories.Order());
        Assert.Empty(profile.Find("constant")!.Edges);   // one value: a single bin

        var drift = new DriftOperator(new DriftOptions { Profile = profile });
        drift.Bind(s_schema);
        // Flags now half true, a fourth code appears, the constant moves by 2, the wide feature is unchanged.
        drift.Process(Fill(batch, 2000, i => (i % 2 == 0, 1_000_000_000_000L + i % 4, 7f, i * 0.5)), StageContext.Standalone("drift"));
        var report = drift.GetReport();
        var flag = report.Features.Single(f => f.Name == "flag");
        Assert.Equal([1000L, 1000L, 0L], flag.Counts);     // half true now (the profile orders false, true, other)
        Assert.Equal(DriftStatus.Drift, flag.Status);
        var code = report.Features.Single(f => f.Name == "code");
        Assert.Equal(500, code.Counts[^1]);               // the unseen fourth code lands in "other"
        Assert.Equal(0.25, code.UnseenRate!.Value, tolerance: 1e-12);
        var constant = report.Features.Single(f => f.Name == "constant");
        Assert.Equal(2.0, constant.Wasserstein!.Value, tolerance: 1e-12);  // one bin: W is the difference of the means
        Assert.Equal(DriftStatus.Drift, constant.Status);                  // constant in training: any move is drift
        Assert.Equal(DriftStatus.Ok, report.Features.Single(f => f.Name == "wide").Status);
        Assert.Equal(0, report.Features.Single(f => f.Name == "wide").KolmogorovSmirnov!.Value, tolerance: 1e-12);
    }
}

using System.Globalization;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using StreamMl.Engine;
using StreamMl.Operators.Validation;

namespace StreamMl.Operators.Tests.Validation;

/// <summary>Each rule is compared with a plain LINQ reference over the same rows.</summary>
public sealed class ValidationTests
{
    private static readonly Schema s_schema = new(
        new Field("id", ColumnType.Int64), new Field("x", ColumnType.Float64), new Field("f", ColumnType.Float32),
        new Field("city", ColumnType.String), new Field("raw", ColumnType.String));

    private sealed record Row(long Id, double? X, float? F, string? City, string? Raw);

    private static ColumnBatch Fill(IReadOnlyList<Row> rows)
    {
        var batch = new ColumnBatch(s_schema, Math.Max(1, rows.Count));
        for (var i = 0; i < rows.Count; i++)
        {
            var r = rows[i];
            batch[0].Values<long>()[i] = r.Id;
            if (r.X is { } x) batch[1].Values<double>()[i] = x; else batch[1].SetNull(i);
            if (r.F is { } f) batch[2].Values<float>()[i] = f; else batch[2].SetNull(i);
            if (r.City is { } c) batch[3].Values<int>()[i] = batch[3].Dictionary!.GetOrAdd(c); else batch[3].SetNull(i);
            if (r.Raw is { } w) batch[4].Values<int>()[i] = batch[4].Dictionary!.GetOrAdd(w); else batch[4].SetNull(i);
            batch.RowOffsetsBuffer[i] = r.Id;
        }
        batch.Length = rows.Count;
        return batch;
    }

    private static List<Row> RandomRows(int n, int seed)
    {
        var random = new Random(seed);
        string[] cities = ["Paris", "Oslo", "Rome", "Lima", "bad city"];
        string[] raws = ["1.5", "2", "abc", "1e+03", " 7 ", "NaN", "", "-3.25"];
        return [.. Enumerable.Range(0, n).Select(i => new Row(
            random.Next(n / 2),
            random.Next(10) == 0 ? null : Math.Round(random.NextDouble() * 200 - 50, 2),
            random.Next(8) == 0 ? null : (float)random.Next(-5, 5),
            random.Next(12) == 0 ? null : cities[random.Next(cities.Length)],
            raws[random.Next(raws.Length)]))];
    }

    private static (Validator Validator, CollectingDeadLetterSink Dead, ColumnBatch Batch) Run(IReadOnlyList<Row> rows, params ValidationRule[] rules)
    {
        var validator = new Validator(rules);
        var schema = validator.Bind(s_schema);
        var batch = new ColumnBatch(schema, Math.Max(1, rows.Count));
        using (var source = Fill(rows))
        {
            for (var i = 0; i < rows.Count; i++) batch.AppendRow(Project(source, schema), i);
        }
        var dead = new CollectingDeadLetterSink();
        validator.Process(batch, StageContext.Standalone("validate", dead));
        return (validator, dead, batch);
    }

    // AppendRow needs the same schema: widen the source batch to the validator's output schema.
    private static ColumnBatch Project(ColumnBatch source, Schema schema)
    {
        if (source.Schema.Equals(schema)) return source;
        var wide = new ColumnBatch(schema, source.Capacity);
        for (var r = 0; r < source.Length; r++)
            for (var c = 0; c < source.Schema.Count; c++) wide[c].CopyRow(source[c], r, r);
        source.RowOffsets.CopyTo(wide.RowOffsetsBuffer);
        wide.Length = source.Length;
        return wide;
    }

    private static List<long> SelectedIds(ColumnBatch batch) =>
        [.. Enumerable.Range(0, batch.Length).Where(batch.Selection.IsSelected).Select(i => batch[0].Values<long>()[i])];

    [Fact]
    public void RequiredAndRange_RejectExactlyTheReferenceRows()
    {
        var rows = RandomRows(3000, 1);
        var (validator, dead, batch) = Run(rows, new RequiredRule("x"), new RangeRule("x", 0, 100));
        var expected = rows.Where(r => r.X is >= 0 and <= 100).Select(r => r.Id).ToList();
        Assert.Equal(expected, SelectedIds(batch));
        Assert.Equal(rows.Count(r => r.X is null), validator.Rules[0].Counts.Rejected);
        Assert.Equal(rows.Count(r => r.X is < 0 or > 100), validator.Rules[1].Counts.Rejected);
        Assert.Equal(rows.Count - expected.Count, dead.Count);
        Assert.All(dead.Letters, l => Assert.Contains("column 'x'", l.Message));
        Assert.Equal(validator.RowsIn, validator.RowsOut + validator.RowsRejected + validator.RowsFiltered);
    }

    [Fact]
    public void Clip_MovesOutliersToTheBounds()
    {
        var rows = RandomRows(2000, 2);
        var (validator, dead, batch) = Run(rows, new RangeRule("x", -10, 120, RuleAction.Clip));
        Assert.Empty(dead.Letters);
        var xs = batch[1].Values<double>();
        for (var i = 0; i < rows.Count; i++)
            if (rows[i].X is { } x) Assert.Equal(Math.Clamp(x, -10, 120), xs[i]);
        Assert.Equal(rows.Count(r => r.X is < -10 or > 120), validator.Rules[0].Counts.Changed);
    }

    [Fact]
    public void AllowedPatternAndFilter_MatchTheReference()
    {
        var rows = RandomRows(2000, 3);
        var (validator, dead, batch) = Run(rows,
            new AllowedValuesRule("city", ["Paris", "Oslo", "Rome", "Lima"], RuleAction.Filter),
            new PatternRule("city", "^[A-Z][a-z]+$"),
            new RangeRule("f", -2, 10, RuleAction.Null));
        var allowed = new HashSet<string> { "Paris", "Oslo", "Rome", "Lima" };
        var expected = rows.Where(r => r.City is null || allowed.Contains(r.City)).Select(r => r.Id).ToList();
        Assert.Equal(expected, SelectedIds(batch));
        Assert.Equal(rows.Count(r => r.City == "bad city"), validator.RowsFiltered);
        Assert.Empty(dead.Letters);
        for (var i = 0; i < rows.Count; i++)
            if (batch.Selection.IsSelected(i) && rows[i].F is < -2) Assert.False(batch[2].IsValid(i));
        Assert.Equal(validator.RowsIn, validator.RowsOut + validator.RowsRejected + validator.RowsFiltered);
    }

    [Fact]
    public void CoerceAndNullTokens_ParseLikeDoubleTryParse()
    {
        var rows = RandomRows(1000, 4);
        var (validator, dead, batch) = Run(rows, new NullTokensRule("raw"), new CoerceRule("raw", "raw_num", ColumnType.Float64));
        var target = batch.Schema.IndexOf("raw_num");
        for (var i = 0; i < rows.Count; i++)
        {
            var text = rows[i].Raw!.Trim();
            var isNull = text is "" or "NaN";
            var parses = double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value);
            if (isNull) Assert.False(batch[target].IsValid(i));
            else if (parses) Assert.Equal(value, batch[target].Values<double>()[i]);
            else Assert.False(batch.Selection.IsSelected(i));
        }
        Assert.Equal(rows.Count(r => r.Raw == "abc"), dead.Count);
        Assert.All(dead.Letters, l => Assert.Equal("coerce", l.Rule));
    }

    [Fact]
    public void DuplicateKeys_RejectRepeatsWithinTheWindowOnly()
    {
        var rows = RandomRows(4000, 5);
        const int window = 300;
        var (_, dead, batch) = Run(rows, new DuplicateKeyRule("id", windowRows: window));
        // Reference: a key is a duplicate when it is among the last `window` accepted keys.
        var recent = new Queue<long>();
        var expected = new List<long>();
        foreach (var row in rows)
        {
            while (recent.Count >= window) recent.Dequeue();
            if (recent.Contains(row.Id)) continue;
            recent.Enqueue(row.Id);
            expected.Add(row.Id);
        }
        Assert.Equal(expected, SelectedIds(batch));
        Assert.Equal(rows.Count - expected.Count, dead.Count);
    }

    [Fact]
    public void Impute_FittedOnAProfile_UsesTheReferenceStatistics()
    {
        var rows = RandomRows(2500, 6);
        var profile = new DataProfile(s_schema);
        using (var b = Fill(rows)) profile.Add(b);
        var xs = rows.Where(r => r.X is not null).Select(r => r.X!.Value).Order().ToArray();
        var median = xs.Length % 2 == 1 ? xs[xs.Length / 2] : (xs[xs.Length / 2 - 1] + xs[xs.Length / 2]) / 2;
        var modeCity = rows.Where(r => r.City is not null).GroupBy(r => r.City!).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).First().Key;
        var meanF = rows.Where(r => r.F is not null).Average(r => (double)r.F!.Value);

        var (validator, _, batch) = Run(rows,
            ImputeRule.Fit("x", ImputeStrategy.Median, profile),
            ImputeRule.Fit("city", ImputeStrategy.MostFrequent, profile),
            ImputeRule.Fit("f", ImputeStrategy.Mean, profile));
        for (var i = 0; i < rows.Count; i++)
        {
            Assert.Equal(rows[i].X ?? median, batch[1].Values<double>()[i]);
            Assert.Equal((float)(rows[i].F ?? meanF), batch[2].Values<float>()[i]);
            Assert.Equal(rows[i].City ?? modeCity, batch[3].Dictionary![batch[3].Values<int>()[i]]);
        }
        var report = validator.Report();
        Assert.All(report.Columns.Where(c => c.Name is "x" or "f" or "city"), c => Assert.Equal(0, c.Nulls));
        Assert.Equal(rows.Count(r => r.X is null), report.Rules[0].Changed);
    }

    [Fact]
    public void MissingRatio_ListsColumnsAboveTheThreshold()
    {
        var rows = RandomRows(2000, 7);
        var profile = new DataProfile(s_schema);
        using (var b = Fill(rows)) profile.Add(b);
        var ratios = new Dictionary<string, double>
        {
            ["id"] = 0, ["x"] = rows.Count(r => r.X is null) / 2000.0, ["f"] = rows.Count(r => r.F is null) / 2000.0,
            ["city"] = rows.Count(r => r.City is null) / 2000.0, ["raw"] = 0,
        };
        foreach (var (name, ratio) in ratios) Assert.Equal(ratio, profile.Column(name).MissingRatio, 12);
        var threshold = (ratios["x"] + ratios["f"]) / 2; // between the two
        var expected = ratios.Where(p => p.Value > threshold).Select(p => p.Key).ToHashSet();
        Assert.Equal(expected, profile.ColumnsMissingMoreThan(threshold).ToHashSet());
    }

    [Fact]
    public void Report_IsJsonWithCountsPerRuleAndColumnStatistics()
    {
        var rows = RandomRows(1500, 8);
        var (validator, _, _) = Run(rows, new RangeRule("x", 0, 100), new AllowedValuesRule("city", ["Paris", "Oslo"], RuleAction.Filter));
        var json = validator.Report().ToJson();
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        Assert.Equal(1500, root.GetProperty("rowsIn").GetInt64());
        Assert.Equal(root.GetProperty("rowsIn").GetInt64(),
            root.GetProperty("rowsOut").GetInt64() + root.GetProperty("rowsRejected").GetInt64() + root.GetProperty("rowsFiltered").GetInt64());
        var kept = rows.Where(r => r.X is null or (>= 0 and <= 100)).Where(r => r.City is null or "Paris" or "Oslo").ToList();
        var x = root.GetProperty("columns").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "x");
        var keptX = kept.Where(r => r.X is not null).Select(r => r.X!.Value).ToList();
        Assert.Equal(keptX.Min(), x.GetProperty("min").GetDouble());
        Assert.Equal(keptX.Max(), x.GetProperty("max").GetDouble());
        Assert.Equal(keptX.Average(), x.GetProperty("mean").GetDouble(), 9);
        Assert.Equal(keptX.Distinct().Count(), x.GetProperty("distinct").GetInt64());
        Assert.Equal(kept.Count(r => r.X is null), x.GetProperty("nulls").GetInt64());
        var city = root.GetProperty("columns").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "city");
        Assert.Equal(kept.Where(r => r.City is not null).Select(r => r.City).Distinct().Count(), city.GetProperty("distinct").GetInt64());
        Assert.Equal(DataQualityReport.FromJson(json).ToJson(), json);
    }

    [Property(MaxTest = 60)]
    public Property ColumnStats_MatchLinq(double[] values, bool[] nulls)
    {
        var n = Math.Min(values.Length, nulls.Length);
        var field = new Field("v", ColumnType.Float64);
        using var batch = new ColumnBatch(new Schema(field), Math.Max(1, n));
        for (var i = 0; i < n; i++) if (nulls[i]) batch[0].SetNull(i); else batch[0].Values<double>()[i] = values[i];
        batch.Length = n;
        var stats = new ColumnStats(field, keepValues: true);
        stats.Add(batch, batch[0]);
        var present = Enumerable.Range(0, n).Where(i => !nulls[i] && !double.IsNaN(values[i])).Select(i => values[i]).ToArray();
        var finite = present.All(double.IsFinite);
        var ok = stats.Count == n && stats.Nulls == n - present.Length
            && stats.Distinct == present.Select(v => v == 0 ? 0 : v).Distinct().Count()
            && (present.Length == 0 ? stats.Min is null : stats.Min == present.Min() && stats.Max == present.Max())
            && (!finite || present.Length == 0 || stats.Mean.Equals(present.Average())
                || Math.Abs(stats.Mean - present.Average()) <= 1e-9 * Math.Max(1, present.Max(Math.Abs)));
        return ok.Label($"n={n} present={present.Length} stats: min={stats.Min} max={stats.Max} distinct={stats.Distinct}");
    }

    [Property(MaxTest = 25)]
    public Property Counts_Reconcile(PositiveInt seed, NonNegativeInt size)
    {
        var rows = RandomRows(size.Get % 1500, seed.Get);
        var (validator, dead, batch) = Run(rows, new RequiredRule("city", RuleAction.Filter), new RangeRule("x", 0, 80),
            new DuplicateKeyRule("id", 50), new PatternRule("city", "^[PO]", RuleAction.Filter));
        return (validator.RowsIn == rows.Count
            && validator.RowsIn == validator.RowsOut + validator.RowsRejected + validator.RowsFiltered
            && validator.RowsRejected == dead.Count
            && validator.RowsOut == batch.Selection.Count).Label($"in={validator.RowsIn} out={validator.RowsOut} rej={validator.RowsRejected} filt={validator.RowsFiltered}");
    }

    [Theory]
    [InlineData(900, 1)]      // under the limit: exact
    [InlineData(1_025, 3)]    // just past it: the estimate starts from the exact set
    [InlineData(20_000, 5)]
    [InlineData(300_000, 7)]
    public void DistinctEstimate_IsWithinThreeStandardErrorsOfTheExactCount(int distinct, int repeats)
    {
        // Values repeat in shuffled order, with nulls, spread over batches, on every path: dense int64 (vectorised),
        // int64 with nulls (scalar loop) and float64.
        var random = new Random(distinct);
        var values = Enumerable.Range(0, distinct * repeats).Select(i => (long)(i % distinct) * 104_729 - 5_000_000).OrderBy(_ => random.Next()).ToArray();
        foreach (var (type, withNulls) in new[] { (ColumnType.Int64, false), (ColumnType.Int64, true), (ColumnType.Float64, false) })
        {
            var field = new Field("v", type);
            var stats = new ColumnStats(field);
            using var batch = new ColumnBatch(new Schema(field), 4096);
            for (var start = 0; start < values.Length; start += 4096)
            {
                var n = Math.Min(4096, values.Length - start);
                batch.Reset();
                for (var i = 0; i < n; i++)
                {
                    if (type == ColumnType.Int64) batch[0].Values<long>()[i] = values[start + i];
                    else batch[0].Values<double>()[i] = values[start + i];
                }
                if (withNulls) batch[0].SetNull(n - 1);
                batch.Length = n;
                stats.Add(batch, batch[0]);
            }
            var exact = values.Where((_, i) => !withNulls || (i % 4096 != 4095 && i != values.Length - 1)).Distinct().Count();
            if (distinct <= ColumnStats.ExactDistinctLimit)
            {
                Assert.True(stats.DistinctIsExact);
                Assert.Equal(exact, stats.Distinct);
            }
            else
            {
                Assert.False(stats.DistinctIsExact);
                Assert.InRange(stats.Distinct, exact * (1 - 3 * 0.0163), exact * (1 + 3 * 0.0163));
            }
        }
    }

    [Property(MaxTest = 60)]
    public Property ColumnStats_DenseIntegersMatchLinq(long[] raw)
    {
        // Values below 2^40 keep every partial sum exact, so the vectorised sum must equal LINQ's exactly.
        var values = raw.Select(v => v % (1L << 40)).ToArray();
        var field = new Field("v", ColumnType.Int64);
        using var batch = new ColumnBatch(new Schema(field), Math.Max(1, values.Length));
        values.CopyTo(batch[0].Values<long>());
        batch.Length = values.Length;
        var stats = new ColumnStats(field);
        stats.Add(batch, batch[0]);
        var ok = stats.Count == values.Length && stats.Nulls == 0
            && (values.Length == 0 ? stats.Min is null : stats.Min == values.Min() && stats.Max == values.Max() && stats.Mean == values.Sum(v => (double)v) / values.Length)
            && stats.Distinct == values.Distinct().Count();
        return ok.Label($"n={values.Length} min={stats.Min} max={stats.Max} mean={stats.Mean} distinct={stats.Distinct}");
    }

    [Property(MaxTest = 40)]
    public Property DistinctEstimate_VectorisedHashingSetsTheSameRegistersAsTheScalarReference(long[] values)
    {
        var vectorised = new byte[4096];
        var scalar = new byte[4096];
        ColumnStats.AddHashes(vectorised, values);
        foreach (var value in values) ColumnStats.AddHash(scalar, (ulong)BitConverter.DoubleToInt64Bits(value));
        return vectorised.AsSpan().SequenceEqual(scalar).Label($"{values.Length} values");
    }

    [Fact]
    public void DistinctEstimate_PastTheExactLimitIsWithinFivePercent()
    {
        var field = new Field("v", ColumnType.Int64);
        var stats = new ColumnStats(field);
        using var batch = new ColumnBatch(new Schema(field), 4096);
        const int distinct = 200_000;
        for (var start = 0; start < distinct; start += 4096)
        {
            var n = Math.Min(4096, distinct - start);
            for (var i = 0; i < n; i++) batch[0].Values<long>()[i] = (start + i) * 7919L;
            batch.Length = n;
            stats.Add(batch, batch[0]);
        }
        Assert.False(stats.DistinctIsExact);
        Assert.InRange(stats.Distinct, distinct * 0.95, distinct * 1.05);
    }

    [Fact]
    public void ValidRows_AllocateNothingInSteadyState()
    {
        var rows = RandomRows(4096, 9).Select(r => r with { X = r.X is null ? 1 : Math.Abs(r.X.Value) % 100, City = r.City == "bad city" ? "Lima" : r.City }).ToList();
        var validator = new Validator([
            new RequiredRule("x"), new RangeRule("x", 0, 100), new RangeRule("f", -3, 3, RuleAction.Clip),
            new AllowedValuesRule("city", ["Paris", "Oslo", "Rome", "Lima"]), new PatternRule("city", "^[A-Z]"),
            new ImputeRule("city", ImputeStrategy.Constant, 0, "Paris"), new ImputeRule("f", ImputeStrategy.Constant, 0),
        ]);
        validator.Bind(s_schema);
        using var template = Fill(rows);
        using var batch = new ColumnBatch(s_schema, 4096);
        var context = StageContext.Standalone("validate");
        void Once()
        {
            batch.Reset();
            for (var i = 0; i < template.Length; i++) batch.AppendRow(template, i);
            validator.Process(batch, context);
        }
        for (var i = 0; i < 20; i++) Once();
        Assert.Equal(0, SteadyState.AllocatedBytes(Once, 20));
        Assert.Equal(0, validator.RowsRejected);
    }
}

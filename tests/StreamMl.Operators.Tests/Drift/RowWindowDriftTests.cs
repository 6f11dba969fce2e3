using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using StreamMl.Engine;
using StreamMl.Operators.Drift;
using StreamMl.Testing;

namespace StreamMl.Operators.Tests.Drift;

/// <summary>Row references and row-count windows (<see cref="DriftOptions.ReferenceRows"/>, <see cref="DriftOptions.WindowRows"/>):
/// the reference is the first selected rows, each window the next selected rows, checked against a plain computation
/// over the same rows (quantile edges, bin shares, PSI, means) across uneven batches with rejected rows and nulls.</summary>
public sealed class RowWindowDriftTests
{
    private static readonly Schema s_schema = new(new Field("x", ColumnType.Float32, Nullable: true));

    private static DriftThresholds PsiOnly(int minRows) => new()
    {
        Psi = new Threshold(0.1, 0.25),
        KolmogorovSmirnov = null,
        JensenShannon = null,
        WassersteinRelative = null,
        MissingRateIncrease = null,
        MinRows = minRows,
    };

    [Property(MaxTest = 40)]
    public Property Row_windows_match_a_plain_computation_over_the_same_rows(PositiveInt seed, bool shifted)
    {
        var random = new Random(seed.Get);
        const int reference = 400, window = 150, bins = 8, batchRows = 37, total = batchRows * 40;
        var values = Enumerable.Range(0, total)
            .Select(i => (float)(random.NextDouble() * 10 + (shifted && i >= total / 2 ? 4 : 0))).ToArray();
        var selected = Enumerable.Range(0, total).Select(_ => random.NextDouble() > 0.2).ToArray();
        var valid = Enumerable.Range(0, total).Select(_ => random.NextDouble() > 0.1).ToArray();

        var reports = new List<DriftReport>();
        ReferenceProfile? built = null;
        var drift = new DriftOperator(new DriftOptions
        {
            Features = ["x"],
            ReferenceRows = reference,
            ReferenceBins = bins,
            WindowRows = window,
            Thresholds = PsiOnly(10),
            ReferenceBuilt = profile => built = profile,
            WindowClosed = reports.Add,
        });
        drift.Bind(s_schema);
        using var batch = new ColumnBatch(s_schema, batchRows);
        for (var start = 0; start < total; start += batchRows)
        {
            Fill(batch, start, values, selected, valid);
            drift.Process(batch, StageContext.Standalone("drift"));
        }

        // Reference: the first selected rows; edges at the k/bins quantiles of their valid values (distinct, above the
        // minimum); bin k holds [edge k-1, edge k); PSI = Σ (q - p) ln(q / p) with shares floored at 1e-4.
        var rows = Enumerable.Range(0, total).Where(i => selected[i]).ToArray();
        double[] Valid(IEnumerable<int> ids) => [.. ids.Where(i => valid[i]).Select(i => (double)values[i])];
        var sorted = Valid(rows.Take(reference)).Order().ToArray();
        var edges = new List<double>();
        for (var k = 1; k < bins; k++)
        {
            var e = sorted[k * sorted.Length / bins];
            if (e > sorted[0] && (edges.Count == 0 || e > edges[^1])) edges.Add(e);
        }
        int Bin(double v) => edges.Count(e => v >= e);
        double Psi(double[] current) => Enumerable.Range(0, edges.Count + 1).Sum(b =>
        {
            var p = Math.Max(sorted.Count(v => Bin(v) == b) / (double)sorted.Length, 1e-4);
            var q = Math.Max(current.Count(v => Bin(v) == b) / (double)current.Length, 1e-4);
            return (q - p) * Math.Log(q / p);
        });

        var windows = (rows.Length - reference) / window;
        var ok = built is not null && built.Find("x")!.Edges.SequenceEqual(edges) && reports.Count == windows && drift.WindowsClosed == windows;
        var detail = $"windows {reports.Count} vs {windows}, edges [{string.Join(", ", built?.Find("x")?.Edges ?? [])}] vs [{string.Join(", ", edges)}]";
        for (var w = 0; ok && w < windows; w++)
        {
            var current = Valid(rows.Skip(reference + w * window).Take(window));
            var psi = Psi(current);
            var status = psi >= 0.25 ? DriftStatus.Drift : psi >= 0.1 ? DriftStatus.Warning : DriftStatus.Ok;
            var feature = reports[w].Features.Single();
            ok = reports[w].Rows == window && feature.Count == current.Length && feature.Missing == window - current.Length
                 && Math.Abs(feature.Psi!.Value - psi) < 1e-9 && feature.Status == status
                 && Math.Abs(feature.Mean!.Value - current.Average()) < 1e-4;
            detail = $"window {w}: rows {reports[w].Rows}, psi {feature.Psi} vs {psi}, status {feature.Status} vs {status}, " +
                     $"mean {feature.Mean} vs {current.Average()}";
        }
        return ok.Label(detail);
    }

    [Fact]
    public void A_row_window_spans_the_event_times_of_its_selected_rows_and_a_partial_window_closes_at_the_end()
    {
        var reports = new List<DriftReport>();
        var drift = new DriftOperator(new DriftOptions
        {
            Features = ["x"], ReferenceRows = 10, ReferenceBins = 2, WindowRows = 10, Thresholds = PsiOnly(1), WindowClosed = reports.Add,
        });
        drift.Bind(s_schema);
        using var batch = new ColumnBatch(s_schema, 25);
        batch.Length = 25;
        for (var r = 0; r < 25; r++)
        {
            batch[0].SetValid(r);
            batch.Values<float>(0)[r] = r;
            batch.EventTimesBuffer[r] = 1_000_000L * (r + 1);
        }
        // Row 10 is rejected: the first window holds rows 11..20; rows 21..24 are a partial window until Complete.
        batch.Selection.Deselect(10);
        drift.Process(batch, StageContext.Standalone("drift"));

        var first = Assert.Single(reports);
        Assert.Equal(10, first.Rows);
        Assert.Equal(12_000_000L, first.WindowStart);
        Assert.Equal(21_000_000L, first.WindowEnd);
        Assert.Equal(Enumerable.Range(11, 10).Average(), first.Features[0].Mean!.Value, 9);

        Assert.Equal(14, drift.GetReport().Rows); // the lifetime holds the closed window and the open one

        drift.Complete(StageContext.Standalone("drift"));
        Assert.Equal(2, reports.Count);
        Assert.Equal(4, reports[1].Rows);
        Assert.Equal(22_000_000L, reports[1].WindowStart);
        Assert.Equal(25_000_000L, reports[1].WindowEnd);
        // The lifetime holds every row after the reference.
        Assert.Equal(14, drift.GetReport().Rows);
    }

    [Fact]
    public void Row_windows_against_a_given_profile_match_the_window_rows()
    {
        var reference = Enumerable.Range(0, 500).Select(i => (double)(i % 50)).ToArray();
        var builder = new ReferenceProfileBuilder(new ProfileOptions { Bins = 5 });
        builder.AddNumeric("x", reference);
        var reports = new List<DriftReport>();
        var drift = new DriftOperator(new DriftOptions { Profile = builder.Build(), WindowRows = 100, Thresholds = PsiOnly(10), WindowClosed = reports.Add });
        drift.Bind(s_schema);
        using var batch = new ColumnBatch(s_schema, 64);
        var all = new List<double>();
        for (var b = 0; b < 10; b++)
        {
            batch.Reset();
            batch.Length = 64;
            for (var r = 0; r < 64; r++)
            {
                var v = (float)((b * 64 + r) % 70);
                batch[0].SetValid(r);
                batch.Values<float>(0)[r] = v;
                all.Add(v);
            }
            drift.Process(batch, StageContext.Standalone("drift"));
        }
        Assert.Equal(6, reports.Count);
        for (var w = 0; w < reports.Count; w++)
            Assert.Equal(all.Skip(w * 100).Take(100).Average(), reports[w].Features[0].Mean!.Value, 9);
    }

    [Fact]
    public void Between_window_ends_a_batch_allocates_nothing()
    {
        var closed = 0;
        var drift = new DriftOperator(new DriftOptions
        {
            Features = ["x"], ReferenceRows = 100, WindowRows = 10_000_000, Thresholds = PsiOnly(10), WindowClosed = _ => closed++,
        });
        drift.Bind(s_schema);
        using var batch = new ColumnBatch(s_schema, 256);
        batch.Length = 256;
        var random = new Random(5);
        for (var r = 0; r < 256; r++) { batch[0].SetValid(r); batch.Values<float>(0)[r] = (float)random.NextDouble(); }
        batch.Selection.Deselect(7);
        var context = StageContext.Standalone("drift");
        drift.Process(batch, context); // the reference is built here
        Assert.NotNull(drift.Profile);
        Assert.Equal(0, SteadyState.AllocatedBytes(() => drift.Process(batch, context), 50));
        Assert.Equal(0, closed);
    }

    [Fact]
    public void Options_that_name_no_reference_or_two_kinds_of_window_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new DriftOperator(new DriftOptions { Features = ["x"] }));
        Assert.Throws<ArgumentException>(() => new DriftOperator(new DriftOptions { ReferenceRows = 10 }));
        Assert.Throws<ArgumentException>(() => new DriftOperator(new DriftOptions
        {
            Features = ["x"], ReferenceRows = 10, WindowRows = 10, Window = DriftWindow.Tumbling(TimeSpan.FromSeconds(1)),
        }));
        var text = new DriftOperator(new DriftOptions { Features = ["s"], ReferenceRows = 10 });
        var error = Assert.Throws<SchemaMismatchException>(() => text.Bind(new Schema(new Field("s", ColumnType.String))));
        Assert.Contains("drift feature 's' is string", error.Message);
    }

    private static void Fill(ColumnBatch batch, int start, float[] values, bool[] selected, bool[] valid)
    {
        batch.Reset();
        batch.Length = Math.Min(batch.Capacity, values.Length - start);
        for (var r = 0; r < batch.Length; r++)
        {
            if (valid[start + r]) { batch[0].SetValid(r); batch.Values<float>(0)[r] = values[start + r]; }
            else batch[0].SetNull(r);
            batch.EventTimesBuffer[r] = start + r;
            if (!selected[start + r]) batch.Selection.Deselect(r);
        }
    }
}

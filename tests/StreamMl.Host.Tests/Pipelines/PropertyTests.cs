using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using StreamMl.Engine;
using StreamMl.Host.Pipelines;
using StreamMl.Host.Protos;

namespace StreamMl.Host.Tests.Pipelines;

/// <summary>Properties of the host's row codec and drift statistics against plain reference computations.</summary>
public sealed class PropertyTests
{
    private static readonly Schema s_schema = new(
        new Field("x", ColumnType.Float32), new Field("n", ColumnType.Int64), new Field("s", ColumnType.String), new Field("b", ColumnType.Bool));

    [Property(MaxTest = 200)]
    public Property Protobuf_rows_survive_a_trip_through_a_column_batch(NormalFloat[] xs, long?[] ns, string?[] ss)
    {
        var count = Math.Min(xs.Length, Math.Min(ns.Length, ss.Length));
        var rows = new RowSet { Columns = { "x", "n", "s", "b" } };
        for (var i = 0; i < count; i++)
            rows.Rows.Add(new Row
            {
                Values =
                {
                    new Value { Number = (float)xs[i].Get },
                    ns[i] is { } n ? new Value { Integer = n } : new Value(),
                    ss[i] is { } s ? new Value { Text = s } : new Value(),
                    new Value { Flag = i % 3 == 0 },
                },
            });
        using var batch = new ColumnBatch(s_schema, Math.Max(1, count));
        batch.Length = count;
        RowCodec.Write(rows, RowCodec.MapColumns(rows, s_schema, "test"), 0, count, batch, 0, "test", s_schema.Count);
        var back = RowCodec.ToRowSet(batch, []);
        return (back.Equals(rows)).Label($"sent {rows}\nback {back}");
    }

    [Property(MaxTest = 60)]
    public Property Row_reference_drift_PSI_and_means_match_a_plain_computation(PositiveInt seed, bool shifted)
    {
        var random = new Random(seed.Get);
        const int reference = 500, window = 300, bins = 8;
        var values = Enumerable.Range(0, reference + window)
            .Select(i => (float)(random.NextDouble() * 10 + (shifted && i >= reference ? random.NextDouble() * 5 : 0))).ToArray();

        var settings = new DriftSettings(["x"]) { ReferenceRows = reference, WindowRows = window, Bins = bins };
        var state = new DriftState(settings);
        var monitor = RowDriftStage.Create(settings, state, new EventHub(), "p");
        var schema = monitor.Bind(new Schema(new Field("x", ColumnType.Float32)));
        using var batch = new ColumnBatch(schema, 100);
        for (var start = 0; start < values.Length; start += 100)
        {
            batch.Reset();
            batch.Length = 100;
            values.AsSpan(start, 100).CopyTo(batch.Values<float>(0));
            monitor.Process(batch, StageContext.Standalone("drift"));
        }
        var report = state.Report("p", 0);
        var drift = report.Features.Single();

        // Reference: edges at the reference's k/bins quantiles (distinct, above the minimum); bin k holds [edge k-1, edge k);
        // PSI = Σ (q - p) ln(q / p) with shares floored at 1e-4.
        var sorted = values.Take(reference).Select(v => (double)v).Order().ToArray();
        var edges = new List<double>();
        for (var k = 1; k < bins; k++)
        {
            var e = sorted[k * reference / bins];
            if (e > sorted[0] && (edges.Count == 0 || e > edges[^1])) edges.Add(e);
        }
        int Bin(double v) => edges.Count(e => v >= e);
        var current = values.Skip(reference).Select(v => (double)v).ToArray();
        var psi = Enumerable.Range(0, edges.Count + 1).Sum(b =>
        {
            var p = Math.Max(sorted.Count(v => Bin(v) == b) / (double)reference, 1e-4);
            var q = Math.Max(current.Count(v => Bin(v) == b) / (double)window, 1e-4);
            return (q - p) * Math.Log(q / p);
        });
        var referenceMean = sorted.Average();
        var referenceSd = Math.Sqrt(sorted.Sum(v => (v - referenceMean) * (v - referenceMean)) / (reference - 1));
        var status = psi >= 0.25 ? "drift" : psi >= 0.1 ? "warning" : "ok";
        return (report.Windows.Count == 1 && report.Windows[0].Rows == window && report.Windows[0].FirstRow == reference &&
                report.ReferenceRows == reference &&
                Math.Abs(drift.Psi - psi) < 1e-9 && drift.Status == status &&
                Math.Abs(drift.CurrentMean - current.Average()) < 1e-6 && Math.Abs(drift.ReferenceMean - referenceMean) < 1e-6 &&
                Math.Abs(drift.MeanShift - (current.Average() - referenceMean) / referenceSd) < 1e-6)
            .Label($"psi {drift.Psi} vs {psi}, status {drift.Status} vs {status}, mean {drift.CurrentMean} vs {current.Average()}, " +
                   $"windows {report.Windows.Count}");
    }
    [Property(MaxTest = 40)]
    public Property Row_reference_drift_counts_selected_rows_and_skips_nulls_across_uneven_batches(PositiveInt seed)
    {
        // Rejected rows (deselected) and nulls spread over batches of 37 rows: the reference is the first selected
        // rows, each window the next selected rows, and a null in one segment must not leak into the next.
        var random = new Random(seed.Get);
        const int reference = 200, window = 150, batchRows = 37, total = 37 * 20;
        var values = Enumerable.Range(0, total).Select(_ => (float)(random.NextDouble() * 10)).ToArray();
        var selected = Enumerable.Range(0, total).Select(_ => random.NextDouble() > 0.2).ToArray();
        var valid = Enumerable.Range(0, total).Select(_ => random.NextDouble() > 0.1).ToArray();

        var settings = new DriftSettings(["x"]) { ReferenceRows = reference, WindowRows = window, Bins = 5 };
        var state = new DriftState(settings);
        var monitor = RowDriftStage.Create(settings, state, new EventHub(), "p");
        var schema = monitor.Bind(new Schema(new Field("x", ColumnType.Float32)));
        using var batch = new ColumnBatch(schema, batchRows);
        for (var start = 0; start < total; start += batchRows)
        {
            batch.Reset();
            batch.Length = batchRows;
            for (var r = 0; r < batchRows; r++)
            {
                if (valid[start + r]) { batch[0].SetValid(r); batch.Values<float>(0)[r] = values[start + r]; }
                else batch[0].SetNull(r);
                if (!selected[start + r]) batch.Selection.Deselect(r);
            }
            monitor.Process(batch, StageContext.Standalone("drift"));
        }
        var report = state.Report("p", 0);

        var rows = Enumerable.Range(0, total).Where(i => selected[i]).ToArray();
        double Mean(IEnumerable<int> ids) => ids.Where(i => valid[i]).Average(i => (double)values[i]);
        var referenceMean = Mean(rows.Take(reference));
        var windows = (rows.Length - reference) / window;
        var ok = report.Windows.Count == windows && report.ReferenceRows == reference;
        var detail = $"windows {report.Windows.Count} vs {windows}";
        for (var w = 0; ok && w < windows; w++)
        {
            var expectedMean = Mean(rows.Skip(reference + w * window).Take(window));
            var got = report.Windows[w];
            var feature = got.Features.Single();
            ok = got.Rows == window && got.FirstRow == reference + w * window
                && Math.Abs(feature.CurrentMean - expectedMean) < 1e-4 && Math.Abs(feature.ReferenceMean - referenceMean) < 1e-4;
            detail = $"window {w}: rows {got.Rows}, first {got.FirstRow}, mean {feature.CurrentMean} vs {expectedMean}, reference {feature.ReferenceMean} vs {referenceMean}";
        }
        return ok.Label(detail);
    }
    [Fact]
    public void Row_reference_drift_window_times_span_only_the_rows_it_measured()
    {
        // Rows rejected upstream are not part of a window's statistics, so their event times must not widen its span.
        var settings = new DriftSettings(["x"]) { ReferenceRows = 10, WindowRows = 10, Bins = 2 };
        var state = new DriftState(settings);
        var monitor = RowDriftStage.Create(settings, state, new EventHub(), "p");
        var schema = monitor.Bind(new Schema(new Field("x", ColumnType.Float32)));
        using var batch = new ColumnBatch(schema, 22);
        batch.Length = 22;
        for (var r = 0; r < 22; r++)
        {
            batch[0].SetValid(r);
            batch.Values<float>(0)[r] = r;
            batch.EventTimesBuffer[r] = 1_000_000L * (r + 1);
        }
        // Rows 10 and 21 are rejected: the window holds rows 11..20 and nothing after it.
        batch.Selection.Deselect(10);
        batch.Selection.Deselect(21);
        monitor.Process(batch, StageContext.Standalone("drift"));

        var window = Assert.Single(state.Report("p", 0).Windows);
        Assert.Equal(10, window.Rows);
        Assert.Equal(12_000_000L, window.StartMicros);
        Assert.Equal(21_000_000L, window.EndMicros);
    }
}

using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using StreamMl.Engine.Time;

namespace StreamMl.Engine.Tests.Time;

/// <summary>The keyed window operator against a naive reference over random, disordered streams with watermarks.</summary>
public sealed class WindowProperties
{
    private static readonly Schema s_schema = new(new Field("key", ColumnType.String), new Field("v", ColumnType.Float64));
    private static readonly string[] s_keys = ["a", "b", "c"];

    private sealed record Row(string Key, long Time, double Value);

    /// <summary>Random stream: event times drift upward with bounded disorder; batches carry a watermark that lags the
    /// maximum time seen by a random amount, so some rows arrive behind it.</summary>
    private static List<(List<Row> Rows, long Watermark)> Stream(int seed, int batches)
    {
        var random = new Random(seed);
        var result = new List<(List<Row>, long)>();
        long clock = 0, maxSeen = long.MinValue;
        for (var b = 0; b < batches; b++)
        {
            var rows = new List<Row>();
            var count = random.Next(0, 12);
            for (var i = 0; i < count; i++)
            {
                clock += random.Next(0, 400);
                var time = clock - random.Next(0, 2_500); // disorder, sometimes far behind the watermark
                rows.Add(new Row(s_keys[random.Next(s_keys.Length)], time, random.Next(-50, 50)));
                maxSeen = Math.Max(maxSeen, time);
            }
            var watermark = rows.Count == 0 && random.Next(3) == 0 ? ColumnBatch.NoWatermark : maxSeen - random.Next(0, 800);
            result.Add((rows, watermark));
        }
        return result;
    }

    /// <summary>A direct reading of the semantics: a row joins every window containing it that the watermark before
    /// its batch had not closed (end - 1 + lateness); rows joining none are late; all windows appear at the end.</summary>
    private static (List<WindowResult> Windows, List<(string, long)> Late) Reference(
        List<(List<Row> Rows, long Watermark)> stream, long size, long slide, long lateness)
    {
        var windows = new Dictionary<(string, long), List<double>>();
        var late = new List<(string, long)>();
        var watermark = long.MinValue;
        foreach (var (rows, batchWatermark) in stream)
        {
            foreach (var row in rows)
            {
                var joined = false;
                for (var start = (long)Math.Floor(row.Time / (double)slide) * slide - 10 * size; start <= row.Time; start += slide)
                {
                    if (row.Time < start || row.Time >= start + size) continue;
                    var closed = watermark != long.MinValue && watermark >= start + size - 1 + lateness;
                    if (closed) continue;
                    joined = true;
                    if (!windows.TryGetValue((row.Key, start), out var values)) windows[(row.Key, start)] = values = [];
                    values.Add(row.Value);
                }
                if (!joined) late.Add((row.Key, row.Time));
            }
            if (batchWatermark != long.MinValue) watermark = Math.Max(watermark, batchWatermark);
        }
        var results = windows.Select(w => new WindowResult(w.Key.Item1, w.Key.Item2, w.Key.Item2 + size, w.Value.Count,
            w.Value.Sum(), w.Value.Min(), w.Value.Max())).ToList();
        return (results, late);
    }

    private static (List<WindowResult> Windows, List<(string, long)> Late, List<(WindowResult Result, long WatermarkAtEmit)> Emits) RunOperator(
        List<(List<Row> Rows, long Watermark)> stream, WindowSpec spec)
    {
        var output = new RecordingOutput();
        var op = new KeyedWindowOperator("key", "v", spec, output);
        using var batch = new ColumnBatch(op.Bind(s_schema), 16);
        var context = StageContext.Standalone("window");
        foreach (var (rows, watermark) in stream)
        {
            batch.Reset();
            for (var i = 0; i < rows.Count; i++)
            {
                batch[0].Values<int>()[i] = batch[0].Dictionary!.GetOrAdd(rows[i].Key);
                batch[1].Values<double>()[i] = rows[i].Value;
                batch.EventTimesBuffer[i] = rows[i].Time;
            }
            batch.Length = rows.Count;
            batch.Watermark = watermark;
            output.Watermark = op.Watermark;
            op.Process(batch, context);
            output.Watermark = op.Watermark;
        }
        op.Complete(context);
        return (output.Windows.Select(e => e.Result).ToList(), output.Late, output.Windows);
    }

    private sealed class RecordingOutput : IWindowOutput
    {
        public long Watermark;
        public readonly List<(WindowResult Result, long WatermarkAtEmit)> Windows = [];
        public readonly List<(string, long)> Late = [];

        public void OnWindow(in WindowResult result) => Windows.Add((result, Watermark));

        public void OnLateRow(in LateRow lateRow) => Late.Add((lateRow.Key, lateRow.EventTime));
    }

    [Property(MaxTest = 200)]
    public Property Tumbling_and_sliding_windows_match_the_reference(int seed, NonNegativeInt shape)
    {
        var size = new long[] { 1_000, 2_000, 5_000 }[shape.Get % 3];
        var slide = (shape.Get / 3 % 3) switch { 0 => size, 1 => size / 2, _ => size / 4 };
        var lateness = new long[] { 0, 500, 3_000 }[shape.Get / 9 % 3];
        var stream = Stream(seed, 30);
        var spec = new WindowSpec(TimeSpan.FromTicks(size * 10), TimeSpan.FromTicks(slide * 10), TimeSpan.FromTicks(lateness * 10));

        var expected = Reference(stream, size, slide, lateness);
        var actual = RunOperator(stream, spec);

        var sameWindows = expected.Windows.OrderBy(w => (w.Key, w.Start)).SequenceEqual(actual.Windows.OrderBy(w => (w.Key, w.Start)));
        var sameLate = expected.Late.Order().SequenceEqual(actual.Late.Order());
        // A window is emitted once, and only when the watermark had closed it (or at the end of input).
        var emittedOnce = actual.Windows.GroupBy(w => (w.Key, w.Start)).All(g => g.Count() == 1);
        return (sameWindows && sameLate && emittedOnce)
            .Label($"size={size} slide={slide} lateness={lateness} windows {expected.Windows.Count}/{actual.Windows.Count} late {expected.Late.Count}/{actual.Late.Count}");
    }

    [Fact]
    public void Windows_close_on_the_watermark_not_before()
    {
        var output = new CollectingWindowOutput();
        var op = new KeyedWindowOperator("key", "v", WindowSpec.Tumbling(TimeSpan.FromMilliseconds(1)), output);
        using var batch = new ColumnBatch(op.Bind(s_schema), 4);
        void Send(long time, double value, long watermark)
        {
            batch.Reset();
            batch[0].Values<int>()[0] = batch[0].Dictionary!.GetOrAdd("k");
            batch[1].Values<double>()[0] = value;
            batch.EventTimesBuffer[0] = time;
            batch.Length = 1;
            batch.Watermark = watermark;
            op.Process(batch, StageContext.Standalone("w"));
        }
        Send(100, 1, 500);
        Send(900, 3, 998);
        Assert.Empty(output.Windows);
        Send(1_200, 5, 999);
        var window = Assert.Single(output.Windows);
        Assert.Equal(new WindowResult("k", 0, 1_000, 2, 4, 1, 3), window);
        Assert.Equal(2, window.Mean);
        Send(50, 7, 1_500);
        var late = Assert.Single(output.LateRows);
        Assert.Equal(50, late.EventTime);
        Assert.Contains("behind watermark", late.Reason);
    }

    [Fact]
    public void Keys_whose_windows_have_all_closed_are_released()
    {
        var output = new CollectingWindowOutput();
        var op = new KeyedWindowOperator("key", "v", WindowSpec.Tumbling(TimeSpan.FromMilliseconds(1)), output);
        using var batch = new ColumnBatch(op.Bind(s_schema), 100);
        const int keysPerWindow = 100, windows = 40;
        var peak = 0;
        for (var w = 0; w < windows; w++)
        {
            // Every window sees a fresh set of keys (device sessions, user ids): none of them comes back.
            batch.Reset();
            for (var k = 0; k < keysPerWindow; k++)
            {
                batch[0].Values<int>()[k] = batch[0].Dictionary!.GetOrAdd($"w{w}-k{k}");
                batch[1].Values<double>()[k] = k;
                batch.EventTimesBuffer[k] = w * 1_000L + k;
            }
            batch.Length = keysPerWindow;
            batch.Watermark = w * 1_000L + 999; // closes this window
            op.Process(batch, StageContext.Standalone("w"));
            peak = Math.Max(peak, op.OpenKeyCount);
        }

        Assert.Equal(windows * keysPerWindow, output.Windows.Count);
        Assert.Equal(0, op.OpenKeyCount);
        Assert.True(peak <= keysPerWindow, $"peak open keys {peak}");
        Assert.All(output.Windows, r => Assert.Equal(1, r.Count));
    }
}

namespace StreamMl.Engine.Time;

/// <summary>Event-time windows: tumbling when <see cref="SlideMicros"/> equals <see cref="SizeMicros"/>, sliding (hopping) when it
/// is smaller. Windows are aligned to the Unix epoch: [k·slide, k·slide + size).</summary>
public sealed record WindowSpec
{
    /// <summary>Creates a window specification.</summary>
    /// <param name="size">Length of a window.</param>
    /// <param name="slide">Distance between window starts; null for tumbling windows.</param>
    /// <param name="allowedLateness">How long after the watermark passes a window's end it still accepts rows. Default 0.</param>
    public WindowSpec(TimeSpan size, TimeSpan? slide = null, TimeSpan? allowedLateness = null)
    {
        SizeMicros = size.Ticks / 10;
        SlideMicros = (slide ?? size).Ticks / 10;
        LatenessMicros = (allowedLateness ?? TimeSpan.Zero).Ticks / 10;
        if (SizeMicros <= 0) throw new ArgumentOutOfRangeException(nameof(size), "window size must be positive");
        if (SlideMicros <= 0 || SlideMicros > SizeMicros)
            throw new ArgumentOutOfRangeException(nameof(slide), "slide must be positive and at most the window size");
        if (LatenessMicros < 0) throw new ArgumentOutOfRangeException(nameof(allowedLateness), "allowed lateness cannot be negative");
    }

    /// <summary>Tumbling windows of <paramref name="size"/>.</summary>
    public static WindowSpec Tumbling(TimeSpan size, TimeSpan? allowedLateness = null) => new(size, null, allowedLateness);

    /// <summary>Sliding windows of <paramref name="size"/> starting every <paramref name="slide"/>.</summary>
    public static WindowSpec Sliding(TimeSpan size, TimeSpan slide, TimeSpan? allowedLateness = null) => new(size, slide, allowedLateness);

    /// <summary>Window length in microseconds.</summary>
    public long SizeMicros { get; }

    /// <summary>Distance between window starts in microseconds.</summary>
    public long SlideMicros { get; }

    /// <summary>Allowed lateness in microseconds.</summary>
    public long LatenessMicros { get; }

    /// <summary>Start of the last (latest-starting) window that contains <paramref name="eventTime"/>.</summary>
    public long LastWindowStart(long eventTime) => FloorDiv(eventTime, SlideMicros) * SlideMicros;

    /// <summary>True when the window ending at <paramref name="windowEnd"/> has closed at <paramref name="watermark"/>:
    /// no row at or before the watermark is still expected, and the allowed lateness has passed.</summary>
    public bool IsClosed(long windowEnd, long watermark) =>
        watermark != ColumnBatch.NoWatermark && watermark >= windowEnd - 1 + LatenessMicros;

    private static long FloorDiv(long a, long b) => a >= 0 ? a / b : -((-a + b - 1) / b);
}

/// <summary>The aggregates of one closed window for one key.</summary>
/// <param name="Key">Key value.</param>
/// <param name="Start">Window start, UTC microseconds (inclusive).</param>
/// <param name="End">Window end, UTC microseconds (exclusive).</param>
/// <param name="Count">Rows with a valid value.</param>
/// <param name="Sum">Sum of values.</param>
/// <param name="Min">Smallest value.</param>
/// <param name="Max">Largest value.</param>
public readonly record struct WindowResult(string Key, long Start, long End, long Count, double Sum, double Min, double Max)
{
    /// <summary>Mean of the values.</summary>
    public double Mean => Count == 0 ? double.NaN : Sum / Count;
}

/// <summary>A row that arrived after every window it belongs to had closed.</summary>
/// <param name="Key">Key value.</param>
/// <param name="EventTime">The row's event time, UTC microseconds.</param>
/// <param name="Value">The row's value.</param>
/// <param name="Watermark">The watermark when it arrived.</param>
/// <param name="Partition">Source partition.</param>
/// <param name="Offset">Source offset.</param>
/// <param name="Reason">Why it is late, in words.</param>
public readonly record struct LateRow(string Key, long EventTime, double Value, long Watermark, int Partition, long Offset, string Reason);

/// <summary>Receives a window operator's results and its late rows (the side output). Called on the operator's stage thread.</summary>
public interface IWindowOutput
{
    /// <summary>A window closed.</summary>
    void OnWindow(in WindowResult result);

    /// <summary>A row was too late for every window it belongs to.</summary>
    void OnLateRow(in LateRow lateRow);
}

/// <summary>Keeps window results and late rows in memory (tests, small jobs, the demo).</summary>
public sealed class CollectingWindowOutput : IWindowOutput
{
    private readonly object _gate = new();
    private readonly List<WindowResult> _windows = [];
    private readonly List<LateRow> _lateRows = [];

    /// <summary>Windows received so far.</summary>
    public IReadOnlyList<WindowResult> Windows { get { lock (_gate) return [.. _windows]; } }

    /// <summary>Late rows received so far.</summary>
    public IReadOnlyList<LateRow> LateRows { get { lock (_gate) return [.. _lateRows]; } }

    /// <inheritdoc/>
    public void OnWindow(in WindowResult result) { lock (_gate) _windows.Add(result); }

    /// <inheritdoc/>
    public void OnLateRow(in LateRow lateRow) { lock (_gate) _lateRows.Add(lateRow); }
}

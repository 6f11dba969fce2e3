namespace StreamMl.Operators.Drift;

/// <summary>A warning and a drift level for one statistic; larger values are worse.</summary>
/// <param name="Warning">Level at or above which the feature is in warning.</param>
/// <param name="Drift">Level at or above which the feature is drifting.</param>
public readonly record struct Threshold(double Warning, double Drift);

/// <summary>When a feature counts as ok, warning or drift. A null threshold is not checked. The defaults are common
/// rules of thumb (PSI 0.1 / 0.25 is the credit-scoring convention); tune them per model.</summary>
public sealed class DriftThresholds
{
    /// <summary>Population stability index. Default 0.1 / 0.25.</summary>
    public Threshold? Psi { get; init; } = new(0.1, 0.25);

    /// <summary>Kolmogorov–Smirnov statistic (numeric). Default 0.1 / 0.2.</summary>
    public Threshold? KolmogorovSmirnov { get; init; } = new(0.1, 0.2);

    /// <summary>Jensen–Shannon divergence in bits. Default 0.05 / 0.1.</summary>
    public Threshold? JensenShannon { get; init; } = new(0.05, 0.1);

    /// <summary>Wasserstein-1 over the reference standard deviation (numeric). Default 0.1 / 0.25.</summary>
    public Threshold? WassersteinRelative { get; init; } = new(0.1, 0.25);

    /// <summary>Chi-square p-value (categorical); lower is worse, so the feature warns at or below
    /// <see cref="Threshold.Warning"/> and drifts at or below <see cref="Threshold.Drift"/>. Default off: with
    /// thousands of rows the test flags differences too small to matter.</summary>
    public Threshold? ChiSquarePValue { get; init; }

    /// <summary>Increase of the missing rate over the reference's (absolute). Default 0.05 / 0.2.</summary>
    public Threshold? MissingRateIncrease { get; init; } = new(0.05, 0.2);

    /// <summary>Fewest rows with a value before a status other than <see cref="DriftStatus.Unknown"/>. Default 100.</summary>
    public int MinRows { get; init; } = 100;

    /// <summary>Floor for bin probabilities in PSI, so an empty bin adds a large finite term. Default 1e-4.</summary>
    public double PsiFloor { get; init; } = 1e-4;
}

/// <summary>Event-time windows over which drift is measured besides the lifetime totals: tumbling when
/// <see cref="Slide"/> equals <see cref="Size"/>, sliding otherwise. Windows are aligned to the Unix epoch and
/// close when a batch's watermark passes their end.</summary>
public sealed record DriftWindow
{
    private DriftWindow(TimeSpan size, TimeSpan slide)
    {
        if (size <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(size), "window size must be positive");
        if (slide <= TimeSpan.Zero || slide > size) throw new ArgumentOutOfRangeException(nameof(slide), "slide must be positive and at most the size");
        if (size.Ticks % slide.Ticks != 0) throw new ArgumentOutOfRangeException(nameof(slide), $"window size {size} must be a multiple of the slide {slide}");
        if (slide.Ticks % 10 != 0) throw new ArgumentOutOfRangeException(nameof(slide), "slide must be a whole number of microseconds");
        Size = size;
        Slide = slide;
    }

    /// <summary>Length of a window.</summary>
    public TimeSpan Size { get; }

    /// <summary>Time between the starts of consecutive windows.</summary>
    public TimeSpan Slide { get; }

    /// <summary>Back-to-back windows of <paramref name="size"/>.</summary>
    public static DriftWindow Tumbling(TimeSpan size) => new(size, size);

    /// <summary>Windows of <paramref name="size"/> starting every <paramref name="slide"/> (size must be a multiple of slide).</summary>
    public static DriftWindow Sliding(TimeSpan size, TimeSpan slide) => new(size, slide);

    internal long SizeMicros => Size.Ticks / 10;

    internal long SlideMicros => Slide.Ticks / 10;
}

/// <summary>A concept-drift detector fed with every selected, non-null value of a column (a score, an error).</summary>
/// <param name="Column">Numeric or bool column to watch.</param>
/// <param name="Detector">The detector; owned by the operator from now on.</param>
public sealed record ScalarMonitor(string Column, IDriftDetector Detector);

/// <summary>One detection of a <see cref="ScalarMonitor"/>'s detector.</summary>
/// <param name="Column">The watched column.</param>
/// <param name="Detector">The detector's name.</param>
/// <param name="EventTime">Event time (microseconds) of the row whose value triggered it.</param>
/// <param name="Value">That value.</param>
/// <param name="EstimateBefore">The detector's estimate just before the value (NaN when it had none).</param>
public readonly record struct DetectorDetection(string Column, string Detector, long EventTime, double Value, double EstimateBefore);

/// <summary>Options of <see cref="DriftOperator"/>.</summary>
public sealed class DriftOptions
{
    /// <summary>The reference to compare against; required unless <see cref="ReferenceRows"/> is set.</summary>
    public ReferenceProfile? Profile { get; init; }

    /// <summary>When positive, the reference is the stream itself: the first this many selected rows are profiled
    /// (<see cref="ReferenceProfileBuilder"/>, <see cref="ReferenceBins"/> quantile bins per feature) and drift is measured
    /// from the next row on. Needs <see cref="Features"/> (numeric columns) and no <see cref="Profile"/>. Default 0 (off).</summary>
    public int ReferenceRows { get; init; }

    /// <summary>Quantile bins per feature of the profile built from <see cref="ReferenceRows"/>. Default 10.</summary>
    public int ReferenceBins { get; init; } = 10;

    /// <summary>Called once, on the stage thread, when the reference of <see cref="ReferenceRows"/> has been built.
    /// Default null.</summary>
    public Action<ReferenceProfile>? ReferenceBuilt { get; init; }

    /// <summary>When positive, windows of exactly this many selected rows (tumbling; a window may end inside a batch),
    /// instead of event-time <see cref="Window"/>s. A row window's report spans the earliest to the latest event time
    /// of its rows (both inclusive); a partial window closes at <see cref="DriftOperator.Complete"/>. Default 0 (off).</summary>
    public int WindowRows { get; init; }

    /// <summary>Features to monitor; null (the default) monitors every feature of the profile.</summary>
    public IReadOnlyList<string>? Features { get; init; }

    /// <summary>Status thresholds. Default: <see cref="DriftThresholds"/>'s defaults.</summary>
    public DriftThresholds Thresholds { get; init; } = new();

    /// <summary>Event-time windows; null (the default) keeps lifetime totals only.</summary>
    public DriftWindow? Window { get; init; }

    /// <summary>Closed windows kept for <see cref="DriftOperator.GetWindowReports"/>. Default 16.</summary>
    public int WindowHistory { get; init; } = 16;

    /// <summary>Called with the report of each window as it closes (oldest first, on the stage thread, after the batch
    /// that closed it). Default null. Building the report allocates, so set it only when windows close far less often
    /// than batches arrive, or accept the allocation; without it the operator allocates nothing.</summary>
    public Action<DriftReport>? WindowClosed { get; init; }

    /// <summary>Called for every detection of <see cref="Monitors"/>, in row order, on the stage thread after the batch
    /// (several may fire in one batch). Default null.</summary>
    public Action<DetectorDetection>? DetectorFired { get; init; }

    /// <summary>Concept-drift detectors over scalar columns. Default none.</summary>
    public IReadOnlyList<ScalarMonitor> Monitors { get; init; } = [];

    /// <summary>Use vector kernels (256-bit, and 512-bit edge sweeps where the CPU has AVX-512). Default true; false runs
    /// the scalar reference path (Welford per value, binary search per bin).</summary>
    public bool UseSimd { get; init; } = true;

    /// <summary>Operator name in counters and logs. Default "drift".</summary>
    public string Name { get; init; } = "drift";
}

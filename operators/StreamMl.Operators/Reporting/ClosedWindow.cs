using StreamMl.Operators.Drift;

namespace StreamMl.Operators.Reporting;

/// <summary>A closed drift window's report with the event times it covered, for drift reports whose own
/// <see cref="DriftReport.WindowStart"/> and <see cref="DriftReport.WindowEnd"/> are not set (windows of rows).</summary>
/// <param name="Report">The window's report.</param>
/// <param name="Start">First event time in the window, UTC microseconds.</param>
/// <param name="End">Last event time in the window (or its exclusive end), UTC microseconds.</param>
public sealed record ClosedWindow(DriftReport Report, long Start, long End)
{
    /// <summary>An event-time window's report, with its own bounds.</summary>
    public static ClosedWindow Of(DriftReport report) => new(report, report.WindowStart ?? 0, report.WindowEnd ?? 0);
}

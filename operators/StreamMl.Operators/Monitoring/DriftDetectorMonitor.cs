using System.Globalization;
using StreamMl.Operators.Drift;

namespace StreamMl.Operators.Monitoring;

/// <summary>Runs a concept-drift detector (<see cref="Adwin"/>, <see cref="PageHinkley"/>, <see cref="Ddm"/>) as a
/// monitor: a <see cref="DetectorSignal.Drift"/> is a detection. These detectors do not expose their test statistic, so
/// the alert's statistic is the value that triggered it and the message gives the detector's mean estimate before it.</summary>
public sealed class DriftDetectorMonitor(IDriftDetector detector) : IMonitorDetector
{
    /// <summary>The wrapped detector.</summary>
    public IDriftDetector Detector { get; } = detector ?? throw new ArgumentNullException(nameof(detector));

    /// <inheritdoc/>
    public string Name => Detector.Name;

    /// <inheritdoc/>
    public bool Update(long eventTime, double value, out MonitorDetection detection)
    {
        var before = Detector.Estimate;
        if (Detector.Update(value) != DetectorSignal.Drift)
        {
            detection = default;
            return false;
        }
        detection = new MonitorDetection(value, double.NaN,
            string.Create(CultureInfo.InvariantCulture, $"change detected at value {value:G6} (mean before {before:G6})"));
        return true;
    }
}

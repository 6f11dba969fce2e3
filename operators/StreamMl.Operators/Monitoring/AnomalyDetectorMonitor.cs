using System.Globalization;
using StreamMl.Operators.Anomaly;

namespace StreamMl.Operators.Monitoring;

/// <summary>Runs an anomaly detector (seasonal, CUSUM, z-score; see <see cref="AnomalyDetectors"/>) as a monitor: a
/// value it scores <see cref="AnomalySeverity.Critical"/> is a detection, with the detector's statistic and threshold.</summary>
public sealed class AnomalyDetectorMonitor(IAnomalyDetector detector) : IMonitorDetector
{
    /// <summary>The wrapped detector.</summary>
    public IAnomalyDetector Detector { get; } = detector ?? throw new ArgumentNullException(nameof(detector));

    /// <inheritdoc/>
    public string Name => Detector.Name;

    /// <inheritdoc/>
    public bool Update(long eventTime, double value, out MonitorDetection detection)
    {
        var score = Detector.Update(value, eventTime);
        if (!score.IsAnomaly)
        {
            detection = default;
            return false;
        }
        detection = new MonitorDetection(score.Statistic, score.Threshold,
            string.Create(CultureInfo.InvariantCulture, $"value {value:G6} scored {score.Statistic:G4} >= threshold {score.Threshold:G4}"));
        return true;
    }
}

using StreamMl.Engine;

namespace StreamMl.Operators.Anomaly;

/// <summary>Anomaly detector settings or input that cannot be used; the message names the detector and parameter.</summary>
public sealed class AnomalyDetectorException(string message) : StreamMlException(message);

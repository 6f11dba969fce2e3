using StreamMl.Operators.Anomaly.Internal;

namespace StreamMl.Operators.Anomaly;

/// <summary>Builds anomaly detectors from <see cref="AnomalyDetectorSettings"/> (what a spec's <c>anomaly:</c> section
/// holds) or from typed options. Bad names and parameters throw <see cref="AnomalyDetectorException"/> naming the
/// detector and parameter.</summary>
public static class AnomalyDetectors
{
    /// <summary>Seasonal baseline with a robust scale (<see cref="SeasonalDetectorOptions"/>); the default.</summary>
    public const string Seasonal = "seasonal";

    /// <summary>Level-shift and variance-change CUSUM (<see cref="CusumDetectorOptions"/>).</summary>
    public const string Cusum = "cusum";

    /// <summary>Half-Space Trees, multivariate (<see cref="HalfSpaceTreesOptions"/>).</summary>
    public const string HalfSpaceTrees = "half-space-trees";

    /// <summary>Rolling z-score baseline (<see cref="ZScoreDetectorOptions"/>).</summary>
    public const string ZScore = "zscore";

    /// <summary>Every detector name settings accept.</summary>
    public static IReadOnlyList<string> Names { get; } = [Seasonal, Cusum, HalfSpaceTrees, ZScore];

    /// <summary>A detector for one stream.</summary>
    public static IAnomalyDetector Create(AnomalyDetectorSettings settings) => new SingleKeyDetector(settings.Detector, CreateBank(settings));

    /// <summary>A detector for one stream of events with several values each (Half-Space Trees; the scalar detectors
    /// take one value).</summary>
    public static IMultivariateAnomalyDetector CreateMultivariate(AnomalyDetectorSettings settings) =>
        new SingleKeyDetector(settings.Detector, CreateBank(settings));

    /// <summary>One detector per key, state in flat arrays.</summary>
    public static KeyedDetectors CreateKeyed(AnomalyDetectorSettings settings, int expectedKeys = 16) => new(settings, expectedKeys);

    /// <summary>The seasonal detector for one stream.</summary>
    public static IAnomalyDetector Create(SeasonalDetectorOptions options) => new SingleKeyDetector(Seasonal, new SeasonalBank(options));

    /// <summary>The CUSUM detector for one stream.</summary>
    public static IAnomalyDetector Create(CusumDetectorOptions options) => new SingleKeyDetector(Cusum, new CusumBank(options));

    /// <summary>The rolling z-score for one stream.</summary>
    public static IAnomalyDetector Create(ZScoreDetectorOptions options) => new SingleKeyDetector(ZScore, new ZScoreBank(options));

    /// <summary>Half-Space Trees for one stream.</summary>
    public static IMultivariateAnomalyDetector Create(HalfSpaceTreesOptions options) => new SingleKeyDetector(HalfSpaceTrees, new HalfSpaceTreesBank(options));

    /// <summary>Checks <paramref name="settings"/> without building anything; throws what building would throw.</summary>
    public static void Validate(AnomalyDetectorSettings settings) => ReadOptions(settings);

    internal static DetectorBank CreateBank(AnomalyDetectorSettings settings) => ReadOptions(settings) switch
    {
        SeasonalDetectorOptions seasonal => new SeasonalBank(seasonal),
        CusumDetectorOptions cusum => new CusumBank(cusum),
        HalfSpaceTreesOptions trees => new HalfSpaceTreesBank(trees),
        ZScoreDetectorOptions zscore => new ZScoreBank(zscore),
        var other => throw new InvalidOperationException($"no bank for {other}"),
    };

    private static object ReadOptions(AnomalyDetectorSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var name = settings.Detector?.Trim().ToLowerInvariant() ?? "";
        var read = new ParameterReader(name, settings.Parameters);
        object options = name switch
        {
            Seasonal => SeasonalDetectorOptions.Read(read),
            Cusum => CusumDetectorOptions.Read(read),
            HalfSpaceTrees or "hst" => HalfSpaceTreesOptions.Read(read),
            ZScore => ZScoreDetectorOptions.Read(read),
            _ => throw new AnomalyDetectorException($"unknown anomaly detector '{settings.Detector}'; use one of {string.Join(", ", Names)}"),
        };
        read.RejectUnknown();
        return options;
    }
}

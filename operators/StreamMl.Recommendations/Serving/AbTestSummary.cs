namespace StreamMl.Recommendations.Serving;

/// <summary>An A/B test of recommendation variants at one moment, as plain values a report or dashboard can render
/// (<see cref="RecommendationServer.Summarize"/>).</summary>
/// <param name="At">When it was taken (the server's clock).</param>
/// <param name="ConfidenceLevel">Level of every interval in it, e.g. 0.95.</param>
/// <param name="Baseline">The variant every other is tested against (the first).</param>
/// <param name="Variants">Every variant, baseline first.</param>
public sealed record AbTestSummary(DateTimeOffset At, double ConfidenceLevel, string Baseline, IReadOnlyList<VariantSummary> Variants);

/// <summary>One variant of an <see cref="AbTestSummary"/>.</summary>
/// <param name="Variant">The variant's name.</param>
/// <param name="Model">The model answering for it.</param>
/// <param name="Share">Its share of users by the traffic split.</param>
/// <param name="Users">Different users it has served.</param>
/// <param name="Impressions">Recommendation lists it has served.</param>
/// <param name="ClickThrough">Clicked impressions over impressions.</param>
/// <param name="HitRate">Hits over resolved impressions (hit rate at k: the next interaction was a served item).</param>
public sealed record VariantSummary(string Variant, string Model, double Share, long Users, long Impressions,
    RateEstimate ClickThrough, RateEstimate HitRate);

/// <summary>A proportion with its confidence interval and its test against the baseline variant's.</summary>
/// <param name="Successes">Clicks or hits.</param>
/// <param name="Trials">Impressions or resolved impressions.</param>
/// <param name="Rate">Successes over trials (NaN without trials).</param>
/// <param name="Low">Lower end of the Wilson score interval (NaN without trials).</param>
/// <param name="High">Upper end of the Wilson score interval (NaN without trials).</param>
/// <param name="Z">Two-proportion z statistic of this rate minus the baseline's (0 for the baseline itself or when undefined).</param>
/// <param name="PValue">Its two-sided p-value (1 for the baseline itself or when undefined).</param>
public readonly record struct RateEstimate(long Successes, long Trials, double Rate, double Low, double High, double Z, double PValue)
{
    /// <summary>The estimate of <paramref name="successes"/> out of <paramref name="trials"/> with a Wilson score interval at
    /// <paramref name="confidence"/> and the z-test <paramref name="test"/>.</summary>
    public static RateEstimate Of(long successes, long trials, double confidence, ProportionComparison test)
    {
        if (trials <= 0) return new RateEstimate(successes, trials, double.NaN, double.NaN, double.NaN, test.Z, test.PValue);
        var (low, high) = SignificanceTest.WilsonInterval(successes, trials, confidence);
        return new RateEstimate(successes, trials, successes / (double)trials, low, high, test.Z, test.PValue);
    }
}

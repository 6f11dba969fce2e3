namespace StreamMl.Recommendations.Serving;

/// <summary>Online metrics of one A/B variant since the server started.</summary>
/// <param name="Variant">The variant's name.</param>
/// <param name="Model">The model answering for it.</param>
/// <param name="Share">Its share of users by the traffic split.</param>
/// <param name="Requests">Recommendations served (each one an impression).</param>
/// <param name="Fallbacks">Of those, answers from the popularity fallback (cold start, model not ready).</param>
/// <param name="Clicked">Impressions followed, within the horizon, by an interaction of the user with one of the served items.</param>
/// <param name="Resolved">Impressions followed by a next interaction of the user within the horizon.</param>
/// <param name="Hits">Resolved impressions whose next interaction was one of the served items.</param>
/// <param name="DistinctItems">Different items this variant has recommended.</param>
/// <param name="CatalogueItems">Items the variant's model knows now.</param>
/// <param name="LatencyP50Us">Median time to answer inside the server, µs.</param>
/// <param name="LatencyP90Us">90th percentile, µs.</param>
/// <param name="LatencyP99Us">99th percentile, µs.</param>
/// <param name="LatencyMaxUs">Slowest answer, µs.</param>
/// <param name="Users">Different users this variant has served.</param>
public sealed record VariantMetrics(string Variant, string Model, double Share, long Requests, long Fallbacks, long Clicked,
    long Resolved, long Hits, long DistinctItems, long CatalogueItems, long LatencyP50Us, long LatencyP90Us, long LatencyP99Us, long LatencyMaxUs,
    long Users)
{
    /// <summary>Click-through rate: <see cref="Clicked"/> over <see cref="Requests"/> (NaN before the first request).</summary>
    public double ClickThroughRate => Requests > 0 ? Clicked / (double)Requests : double.NaN;

    /// <summary>Hit rate at k: <see cref="Hits"/> over <see cref="Resolved"/> (NaN before the first resolved impression).</summary>
    public double HitRate => Resolved > 0 ? Hits / (double)Resolved : double.NaN;

    /// <summary>Catalogue coverage: <see cref="DistinctItems"/> over <see cref="CatalogueItems"/> (0 for an empty catalogue).</summary>
    public double Coverage => CatalogueItems > 0 ? Math.Min(1, DistinctItems / (double)CatalogueItems) : 0;
}

namespace StreamMl.Recommendations.Evaluation;

/// <summary>Accumulates top-k metrics over test cases with one relevant item each: hit rate (the item is in the list),
/// NDCG (1 / log2(rank + 1) with rank 1 the top, 0 on a miss; the ideal DCG is 1) and catalogue coverage (distinct
/// items recommended over the catalogue size).</summary>
public sealed class RankingMetrics
{
    private readonly HashSet<long> _recommended = [];
    private double _dcg;

    /// <summary>Test cases added.</summary>
    public long Cases { get; private set; }

    /// <summary>Cases whose relevant item was in the list.</summary>
    public long Hits { get; private set; }

    /// <summary>Hits / cases (0 with no cases).</summary>
    public double HitRate => Cases == 0 ? 0 : (double)Hits / Cases;

    /// <summary>Mean NDCG over cases.</summary>
    public double Ndcg => Cases == 0 ? 0 : _dcg / Cases;

    /// <summary>Distinct items recommended in any list.</summary>
    public int DistinctRecommended => _recommended.Count;

    /// <summary>Distinct recommended items over <paramref name="catalogItems"/>.</summary>
    public double Coverage(int catalogItems) => catalogItems == 0 ? 0 : (double)_recommended.Count / catalogItems;

    /// <summary>Adds one case: the ranked list (best first) and the item that was relevant.</summary>
    public void Add(ReadOnlySpan<ScoredItem> ranked, long relevant)
    {
        Cases++;
        for (var rank = 0; rank < ranked.Length; rank++)
        {
            _recommended.Add(ranked[rank].Item);
            if (ranked[rank].Item != relevant) continue;
            Hits++;
            _dcg += 1.0 / Math.Log2(rank + 2);
        }
    }
}

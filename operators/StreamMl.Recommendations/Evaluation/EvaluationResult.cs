namespace StreamMl.Recommendations.Evaluation;

/// <summary>One model's offline evaluation.</summary>
/// <param name="Model">Model name.</param>
/// <param name="Protocol">leave-last-out or prequential.</param>
/// <param name="K">List length.</param>
/// <param name="Cases">Test cases (users for leave-last-out, events for prequential).</param>
/// <param name="HitRate">Share of cases whose item was in the top k.</param>
/// <param name="Ndcg">Mean NDCG@k.</param>
/// <param name="Coverage">Distinct items recommended over catalogue items.</param>
/// <param name="FallbackShare">Share of cases answered by the popularity fallback.</param>
/// <param name="TrainSeconds">Time spent in updates and refits.</param>
/// <param name="RecommendSeconds">Time spent in Recommend calls.</param>
/// <param name="MicrosPerRecommend">Mean Recommend time.</param>
/// <param name="Refits">Model refits (EASE), else 0.</param>
public sealed record EvaluationResult(string Model, string Protocol, int K, long Cases, double HitRate, double Ndcg, double Coverage,
    double FallbackShare, double TrainSeconds, double RecommendSeconds, double MicrosPerRecommend, int Refits);

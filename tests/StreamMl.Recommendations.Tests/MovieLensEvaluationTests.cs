using StreamMl.Recommendations.Evaluation;

namespace StreamMl.Recommendations.Tests;

/// <summary>The quality targets on MovieLens-100k, leave-last-out, full ranking of unseen items: the best model
/// reaches EASE's reference HR@10 of 0.086 and at least 1.7 times popularity's.</summary>
public sealed class MovieLensEvaluationTests
{
    [Fact]
    public void Ease_reaches_the_reference_hit_rate_and_beats_popularity_by_the_required_factor()
    {
        var log = InteractionLog.Read(SharedData.File("movielens_100k", "u.data"),
            new InteractionFileOptions { User = "1", Item = "2", Time = "4", Delimiter = '\t', HasHeader = false });
        Assert.Equal(100_000, log.Count);
        var halfLife = new RecommenderOptions().ProfileHalfLife;
        var popularity = RecommenderEvaluation.LeaveLastOut(RecommenderEvaluation.CreateModel("popularity", "leave-last-out", log, halfLife), log, 10);
        var ease = RecommenderEvaluation.LeaveLastOut(RecommenderEvaluation.CreateModel("ease", "leave-last-out", log, halfLife), log, 10);

        Assert.Equal(943, ease.Cases);
        Assert.True(ease.HitRate >= 0.086, $"EASE HR@10 {ease.HitRate:F4}");
        Assert.True(ease.HitRate >= 1.7 * popularity.HitRate, $"EASE HR@10 {ease.HitRate:F4}, popularity {popularity.HitRate:F4}");
        Assert.True(ease.Ndcg > popularity.Ndcg);
    }
}

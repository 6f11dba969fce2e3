using StreamMl.Recommendations.Profiles;

namespace StreamMl.Recommendations;

/// <summary>The baseline: the items with the most interactions, each decayed by <see cref="RecommenderOptions.PopularityHalfLife"/>,
/// minus what the user has seen. Scores are decayed interaction counts as of the newest event.</summary>
public sealed class PopularityRecommender : Recommender
{
    /// <summary>Creates the recommender; null options take the defaults.</summary>
    public PopularityRecommender(RecommenderOptions? options = null) : base(options ?? new RecommenderOptions()) { }

    /// <inheritdoc/>
    public override string Name => "popularity";

    private protected override bool Score(UserProfile profile, Span<float> scores)
    {
        Popularity.CopyTo(scores, Newest);
        return true;
    }

    private protected override void WriteModel(BinaryWriter writer) { }

    private protected override void ReadModel(BinaryReader reader) { }
}

namespace StreamMl.Recommendations.Tests;

/// <summary>Small random interaction logs for comparing models with plain reference implementations.</summary>
internal static class RandomInteractions
{
    public const long Start = 1_700_000_000_000_000;

    /// <summary><paramref name="events"/> events over <paramref name="users"/> users (ids 1000+) and
    /// <paramref name="items"/> items (ids 1..items), one second apart, with no repeated user-item pair.</summary>
    public static List<Interaction> Distinct(int seed, int users, int items, int events)
    {
        var random = new Random(seed);
        var seen = new HashSet<(long, long)>();
        var list = new List<Interaction>();
        while (list.Count < events)
        {
            var user = 1000 + random.Next(users);
            // Skewed item choice so popularity and co-occurrence have structure.
            var item = 1 + (int)(items * Math.Pow(random.NextDouble(), 2));
            if (!seen.Add((user, item))) continue;
            list.Add(new Interaction(user, item, Start + list.Count * 1_000_000L));
        }
        return list;
    }

    /// <summary>The binary user × item matrix of <paramref name="events"/> (rows users in order of appearance, columns item id − 1).</summary>
    public static (double[,] Matrix, List<long> Users) Matrix(List<Interaction> events, int items)
    {
        var users = events.Select(e => e.User).Distinct().ToList();
        var matrix = new double[users.Count, items];
        foreach (var e in events) matrix[users.IndexOf(e.User), e.Item - 1] = 1;
        return (matrix, users);
    }

    public static void Feed(IRecommender recommender, IEnumerable<Interaction> events)
    {
        foreach (var e in events) recommender.Update(e);
    }
}

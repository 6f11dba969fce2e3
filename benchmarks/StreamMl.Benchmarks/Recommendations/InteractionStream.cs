using StreamMl.Recommendations;

namespace StreamMl.Benchmarks.Recommendations;

/// <summary>A synthetic interaction stream: users uniform, items skewed (item = n·u², so low ids are popular, like a
/// real catalogue's head and long tail), one event per millisecond.</summary>
internal static class InteractionStream
{
    public const long Start = 1_700_000_000_000_000;

    public static (long[] Users, long[] Items, long[] Times) Create(int seed, int events, int users, int items)
    {
        var random = new Random(seed);
        var u = new long[events];
        var i = new long[events];
        var t = new long[events];
        for (var e = 0; e < events; e++)
        {
            u[e] = random.Next(users);
            i[e] = (long)(items * Math.Pow(random.NextDouble(), 2));
            t[e] = Start + e * 1000L;
        }
        return (u, i, t);
    }

    public static void Feed(IRecommender recommender, (long[] Users, long[] Items, long[] Times) stream) =>
        recommender.Update(new InteractionBatch(stream.Users, stream.Items, stream.Times));
}

namespace StreamMl.Recommendations.Internal;

/// <summary>Buffers one query needs (scores per catalogue item, the top-k heap, model scratch), one set per thread, so
/// queries on several threads run side by side under the read lock and allocate nothing once grown.</summary>
internal sealed class QueryScratch
{
    [ThreadStatic] private static QueryScratch? _current;

    /// <summary>The calling thread's buffers.</summary>
    public static QueryScratch Current => _current ??= new QueryScratch();

    public float[] Scores { get; private set; } = new float[64];

    public int[] HeapItems { get; private set; } = new int[16];

    public float[] HeapScores { get; private set; } = new float[16];

    public float[] Accumulator { get; private set; } = new float[64];

    public float[] ProfileWeights { get; private set; } = new float[16];

    public Span<float> ScoresFor(int items)
    {
        if (Scores.Length < items) Scores = new float[Math.Max(items, Scores.Length * 2)];
        return Scores.AsSpan(0, items);
    }

    public void EnsureHeap(int k)
    {
        if (HeapItems.Length >= k) return;
        HeapItems = new int[Math.Max(k, HeapItems.Length * 2)];
        HeapScores = new float[HeapItems.Length];
    }

    public Span<float> AccumulatorFor(int size)
    {
        if (Accumulator.Length < size) Accumulator = new float[Math.Max(size, Accumulator.Length * 2)];
        return Accumulator.AsSpan(0, size);
    }

    public Span<float> ProfileWeightsFor(int count)
    {
        if (ProfileWeights.Length < count) ProfileWeights = new float[Math.Max(count, ProfileWeights.Length * 2)];
        return ProfileWeights.AsSpan(0, count);
    }
}

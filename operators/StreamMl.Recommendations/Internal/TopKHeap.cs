using System.Runtime.CompilerServices;

namespace StreamMl.Recommendations.Internal;

/// <summary>A bounded min-heap of (item, score) over caller-provided spans: keeps the k best offers, where better
/// means a higher score, or an equal score and a lower item index.</summary>
internal ref struct TopKHeap
{
    private readonly Span<int> _items;
    private readonly Span<float> _scores;
    private int _count;

    public TopKHeap(Span<int> items, Span<float> scores)
    {
        _items = items;
        _scores = scores;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Worse(float scoreA, int itemA, float scoreB, int itemB) =>
        scoreA < scoreB || (scoreA == scoreB && itemA > itemB);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Offer(int item, float score)
    {
        if (_count < _items.Length)
        {
            var i = _count++;
            while (i > 0)
            {
                var parent = (i - 1) >> 1;
                if (!Worse(score, item, _scores[parent], _items[parent])) break;
                _items[i] = _items[parent];
                _scores[i] = _scores[parent];
                i = parent;
            }
            _items[i] = item;
            _scores[i] = score;
            return;
        }
        if (_items.Length == 0 || !Worse(_scores[0], _items[0], score, item)) return;
        SiftDown(0, item, score, _count);
    }

    private void SiftDown(int i, int item, float score, int count)
    {
        while (true)
        {
            var child = 2 * i + 1;
            if (child >= count) break;
            if (child + 1 < count && Worse(_scores[child + 1], _items[child + 1], _scores[child], _items[child])) child++;
            if (!Worse(_scores[child], _items[child], score, item)) break;
            _items[i] = _items[child];
            _scores[i] = _scores[child];
            i = child;
        }
        _items[i] = item;
        _scores[i] = score;
    }

    /// <summary>Sorts the kept entries best first in place; returns their number.</summary>
    public int SortDescending()
    {
        var count = _count;
        for (var end = count - 1; end > 0; end--)
        {
            var worstItem = _items[0];
            var worstScore = _scores[0];
            SiftDown(0, _items[end], _scores[end], end);
            _items[end] = worstItem;
            _scores[end] = worstScore;
        }
        return count;
    }
}

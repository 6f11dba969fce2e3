using System.Numerics;
using System.Runtime.CompilerServices;

namespace StreamMl.Engine;

/// <summary>Marks which rows of a batch are still live. Filters clear a row's bit instead of compacting the batch,
/// so a filter costs one bit per rejected row (Trill's columnar batches do the same).</summary>
public sealed class SelectionVector
{
    private readonly ulong[] _words;
    private int _length;
    private bool _allSelected = true;

    internal SelectionVector(int capacity) => _words = new ulong[(capacity + 63) >> 6];

    /// <summary>True while no row has been deselected: consumers can skip the bitmap.</summary>
    public bool AllSelected => _allSelected;

    /// <summary>True when row <paramref name="row"/> is live.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool IsSelected(int row) => _allSelected || (_words[row >> 6] & (1UL << row)) != 0;

    /// <summary>Removes row <paramref name="row"/> from the batch's live rows.</summary>
    public void Deselect(int row)
    {
        if (_allSelected) Materialize();
        _words[row >> 6] &= ~(1UL << row);
    }

    /// <summary>Number of live rows among the batch's rows.</summary>
    public int Count
    {
        get
        {
            if (_allSelected) return _length;
            var count = 0;
            var fullWords = _length >> 6;
            for (var i = 0; i < fullWords; i++) count += BitOperations.PopCount(_words[i]);
            var rest = _length & 63;
            if (rest != 0) count += BitOperations.PopCount(_words[fullWords] & ((1UL << rest) - 1));
            return count;
        }
    }

    /// <summary>Selects every row of a batch of <paramref name="length"/> rows.</summary>
    public void Reset(int length)
    {
        _length = length;
        _allSelected = true;
    }

    internal void SetLength(int length) => _length = length;

    private void Materialize()
    {
        _allSelected = false;
        Array.Fill(_words, ulong.MaxValue);
    }
}

namespace StreamMl.Recommendations.Models;

/// <summary>Per-item counts that halve every half-life. Each add is stored scaled up by 2^((t - reference) / halfLife),
/// so adding is one multiply-add and ranking needs no per-item decay; the reference moves forward (rescaling every
/// count once) before the scale could overflow.</summary>
internal sealed class DecayedCounts
{
    private const double RebaseAfterHalfLives = 256;
    private readonly double _halfLifeMicros;
    private double[] _values = new double[64];
    private long _reference = long.MinValue;

    /// <param name="halfLifeMicros">Half-life in microseconds; 0 for plain counts.</param>
    public DecayedCounts(double halfLifeMicros) => _halfLifeMicros = halfLifeMicros;

    public void Add(int item, float weight, long time)
    {
        if (item >= _values.Length) Array.Resize(ref _values, Math.Max(item + 1, _values.Length * 2));
        if (_halfLifeMicros == 0)
        {
            _values[item] += weight;
            return;
        }
        if (_reference == long.MinValue) _reference = time;
        var halfLives = (time - _reference) / _halfLifeMicros;
        if (halfLives > RebaseAfterHalfLives)
        {
            var scale = double.Exp2(-halfLives);
            foreach (ref var value in _values.AsSpan()) value *= scale;
            _reference = time;
            halfLives = 0;
        }
        _values[item] += weight * double.Exp2(halfLives);
    }

    /// <summary>Writes each item's count decayed to <paramref name="now"/> into <paramref name="destination"/>.</summary>
    public void CopyTo(Span<float> destination, long now)
    {
        var scale = _halfLifeMicros == 0 || _reference == long.MinValue ? 1.0 : double.Exp2((_reference - now) / _halfLifeMicros);
        var count = Math.Min(destination.Length, _values.Length);
        for (var i = 0; i < count; i++) destination[i] = (float)(_values[i] * scale);
        destination[count..].Clear();
    }

    public void Write(BinaryWriter writer, int items)
    {
        writer.Write(_reference);
        for (var i = 0; i < items; i++) writer.Write(i < _values.Length ? _values[i] : 0.0);
    }

    public void Read(BinaryReader reader, int items)
    {
        _reference = reader.ReadInt64();
        _values = new double[Math.Max(items, 64)];
        for (var i = 0; i < items; i++) _values[i] = reader.ReadDouble();
    }
}

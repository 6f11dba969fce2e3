namespace StreamMl.Operators.Anomaly.Internal;

/// <summary>A detector for one stream: a bank with a single slot.</summary>
internal sealed class SingleKeyDetector : IAnomalyDetector, IMultivariateAnomalyDetector
{
    private readonly DetectorBank _bank;

    public SingleKeyDetector(string name, DetectorBank bank)
    {
        Name = name;
        _bank = bank;
        _bank.EnsureCapacity(1);
    }

    public string Name { get; }

    public int Dimensions => _bank.Dimensions;

    public long Samples { get; private set; }

    public AnomalyScore Update(double value, long eventTime)
    {
        Samples++;
        return _bank.Update(0, value, eventTime);
    }

    public AnomalyScore Update(ReadOnlySpan<double> values, long eventTime)
    {
        Samples++;
        return _bank.Update(0, values, eventTime);
    }

    public void Reset()
    {
        Samples = 0;
        _bank.Reset(0);
    }
}

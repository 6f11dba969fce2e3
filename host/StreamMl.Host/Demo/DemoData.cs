using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;

namespace StreamMl.Host.Demo;

/// <summary>Generated IoT sensor readings with a known fault pattern: a faulty machine runs hot and vibrates, so
/// <c>fault</c> follows temperature and vibration (with noise). From <see cref="DriftFrom"/> on, every temperature
/// sensor reads <see cref="DriftOffset"/> degrees high (a recalibration gone wrong): the drift the demo must catch.</summary>
internal sealed class DemoData(int seed, long driftFrom)
{
    public const double DriftOffset = 9.0;
    public static readonly string[] Features = ["temperature", "vibration", "pressure"];
    private readonly Random _random = new(seed);
    private long _row;

    public long DriftFrom => driftFrom;

    /// <summary>Writes <paramref name="rows"/> clean readings with the fault label (0/1) as CSV, for training.</summary>
    public void WriteTrainingCsv(string path, int rows)
    {
        using var writer = new StreamWriter(path);
        writer.WriteLine("temperature,vibration,pressure,fault");
        for (var i = 0; i < rows; i++)
        {
            var (t, v, p, fault) = Reading(drifted: false);
            writer.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{t:R},{v:R},{p:R},{(fault ? 1 : 0)}"));
        }
    }

    private (float Temperature, float Vibration, float Pressure, bool Fault) Reading(bool drifted)
    {
        var faulty = _random.NextDouble() < 0.08;
        var temperature = Normal(faulty ? 74 : 62, 4);
        var vibration = Normal(faulty ? 1.9 : 1.0, 0.3);
        var pressure = Normal(101, 2.5);
        // Noise in the label: a few faults look normal and a few normal readings get flagged.
        var fault = _random.NextDouble() < 0.03 ? !faulty : faulty;
        return ((float)(temperature + (drifted ? DriftOffset : 0)), (float)vibration, (float)pressure, fault);
    }

    /// <summary>The next <paramref name="rows"/> readings as an Arrow IPC stream.</summary>
    public byte[] NextBatch(int rows, DateTimeOffset start)
    {
        var device = new StringArray.Builder();
        var temperature = new FloatArray.Builder();
        var vibration = new FloatArray.Builder();
        var pressure = new FloatArray.Builder();
        var fault = new BooleanArray.Builder();
        var time = new TimestampArray.Builder(new TimestampType(TimeUnit.Microsecond, "UTC"));
        for (var i = 0; i < rows; i++, _row++)
        {
            var (t, v, p, f) = Reading(_row >= driftFrom);
            // About one reading in a thousand is a sensor glitch that validation must catch.
            if (_random.NextDouble() < 0.001) v = -1;
            device.Append($"machine-{_random.Next(1, 41):D2}");
            temperature.Append(t);
            vibration.Append(v);
            pressure.Append(p);
            fault.Append(f);
            time.Append(start.AddMilliseconds(_row * 10));
        }
        using var batch = new RecordBatch.Builder()
            .Append("device", false, device.Build())
            .Append("temperature", false, temperature.Build())
            .Append("vibration", false, vibration.Build())
            .Append("pressure", false, pressure.Build())
            .Append("fault", false, fault.Build())
            .Append("ts", false, time.Build())
            .Build();
        using var stream = new MemoryStream();
        using (var writer = new ArrowStreamWriter(stream, batch.Schema, leaveOpen: true))
        {
            writer.WriteRecordBatch(batch);
            writer.WriteEnd();
        }
        return stream.ToArray();
    }

    private double Normal(double mean, double sd)
    {
        var u1 = 1.0 - _random.NextDouble();
        var u2 = _random.NextDouble();
        return mean + sd * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}

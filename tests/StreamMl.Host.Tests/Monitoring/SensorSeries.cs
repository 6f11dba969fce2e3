using System.Globalization;
using System.Text;

namespace StreamMl.Host.Tests.Monitoring;

/// <summary>Generated sensor series for the monitoring tests: readings one minute apart, N(20, 1) from a seeded
/// generator, with spikes of +40 injected at chosen rows; and plain reference implementations of Page–Hinkley and the
/// per-key cooldown to compute the alerts those series must raise.</summary>
internal static class SensorSeries
{
    public static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static long Micros(int minute) => (Start.AddMinutes(minute) - DateTimeOffset.UnixEpoch).Ticks / 10;

    /// <summary>The values of one series.</summary>
    public static double[] Values(int rows, int seed, IEnumerable<int> spikes)
    {
        var rng = new Random(seed);
        var values = new double[rows];
        for (var i = 0; i < rows; i++)
            values[i] = 20 + Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        foreach (var s in spikes) values[s] += 40;
        return values;
    }

    /// <summary>Writes <c>timestamp,value</c> rows (row i at minute i) as CSV.</summary>
    public static void WriteCsv(string path, double[] values)
    {
        var text = new StringBuilder("timestamp,value\n");
        for (var i = 0; i < values.Length; i++)
            text.Append(CultureInfo.InvariantCulture, $"{Start.AddMinutes(i):yyyy-MM-ddTHH:mm:ssZ},{values[i]:R}\n");
        File.WriteAllText(path, text.ToString());
    }

    /// <summary>Page–Hinkley as published, both directions, reset after an alarm: the rows (indexes) that alarm.</summary>
    public static List<int> PageHinkleyAlarms(double[] values, double delta, double lambda, int minInstances = 30)
    {
        var alarms = new List<int>();
        long n = 0;
        double mean = 0, up = 0, upMin = 0, down = 0, downMax = 0;
        for (var i = 0; i < values.Length; i++)
        {
            var x = values[i];
            n++;
            mean += (x - mean) / n;
            up += x - mean - delta;
            down += x - mean + delta;
            upMin = Math.Min(upMin, up);
            downMax = Math.Max(downMax, down);
            if (n < minInstances || (up - upMin <= lambda && downMax - down <= lambda)) continue;
            alarms.Add(i);
            n = 0;
            mean = up = upMin = down = downMax = 0;
        }
        return alarms;
    }

    /// <summary>Applies a cooldown to one key's alarm times: (raised, suppressed count).</summary>
    public static (List<long> Raised, int Suppressed) Cooldown(IEnumerable<long> times, TimeSpan cooldown)
    {
        var raised = new List<long>();
        var suppressed = 0;
        foreach (var t in times)
        {
            if (raised.Count > 0 && t - raised[^1] < cooldown.Ticks / 10) suppressed++;
            else raised.Add(t);
        }
        return (raised, suppressed);
    }
}

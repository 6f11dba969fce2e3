using System.Globalization;
using System.Text.Json;
using StreamMl.Engine;

namespace StreamMl.Operators.Anomaly.Evaluation;

/// <summary>Reads NAB-format data: a directory of <c>timestamp,value</c> CSV files (timestamps
/// <c>yyyy-MM-dd HH:mm:ss</c>, UTC) and <c>combined_windows.json</c> mapping <c>"folder/file.csv"</c> to a list of
/// <c>[start, end]</c> windows.</summary>
public static class NabData
{
    /// <summary>The labels file NAB names.</summary>
    public const string WindowsFile = "combined_windows.json";

    private static readonly string[] s_timestampFormats = ["yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm:ss.ffffff", "yyyy-MM-dd'T'HH:mm:ss"];

    /// <summary>Loads the series whose file name is <paramref name="series"/> or starts with it
    /// (<c>machine_temperature</c> finds <c>machine_temperature_system_failure.csv</c>).</summary>
    public static LabelledSeries Load(string directory, string series)
    {
        if (!Directory.Exists(directory)) throw new BadInputException("no such directory", directory);
        var file = FindFile(directory, series);
        var windowsPath = Path.Combine(directory, WindowsFile);
        if (!File.Exists(windowsPath))
            throw new BadInputException($"no {WindowsFile} with the labelled windows next to the series", directory);
        var windows = ReadWindows(windowsPath, Path.GetFileName(file));
        var (times, values) = ReadSeries(file);
        return new LabelledSeries(Path.GetFileNameWithoutExtension(file), times, values, windows);
    }

    private static string FindFile(string directory, string series)
    {
        var exact = Path.Combine(directory, series.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) ? series : series + ".csv");
        if (File.Exists(exact)) return exact;
        var matches = Directory.GetFiles(directory, "*.csv").Where(f => Path.GetFileName(f).StartsWith(series, StringComparison.OrdinalIgnoreCase)).Order(StringComparer.Ordinal).ToArray();
        return matches.Length switch
        {
            1 => matches[0],
            0 => throw new BadInputException($"no series '{series}' (no {series}*.csv); the series there are {string.Join(", ", Directory.GetFiles(directory, "*.csv").Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal))}", directory),
            _ => throw new BadInputException($"series '{series}' matches {string.Join(", ", matches.Select(Path.GetFileName))}; name one of them", directory),
        };
    }

    private static (long[] Times, double[] Values) ReadSeries(string path)
    {
        var times = new List<long>();
        var values = new List<double>();
        using var reader = new StreamReader(path);
        var lineNumber = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (line.Length == 0) continue;
            if (lineNumber == 1)
            {
                if (!line.Trim().Equals("timestamp,value", StringComparison.OrdinalIgnoreCase))
                    throw new BadInputException($"the header is '{line}'; a NAB series starts with 'timestamp,value'", $"{path}:1");
                continue;
            }
            var comma = line.IndexOf(',');
            var where = $"{path}:{lineNumber}";
            if (comma < 0) throw new BadInputException($"'{line}' is not 'timestamp,value'", where);
            var time = ParseTimestamp(line[..comma]) ?? throw new BadInputException($"timestamp '{line[..comma]}' is not yyyy-MM-dd HH:mm:ss", where);
            if (!double.TryParse(line.AsSpan(comma + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                throw new BadInputException($"value '{line[(comma + 1)..]}' is not a number", where);
            times.Add(time);
            values.Add(value);
        }
        if (values.Count == 0) throw new BadInputException("the series has no rows", path);
        return (times.ToArray(), values.ToArray());
    }

    private static List<AnomalyWindow> ReadWindows(string path, string fileName)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new BadInputException($"not valid JSON ({e.Message})", path);
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new BadInputException("expected an object mapping \"folder/file.csv\" to windows", path);
            foreach (var entry in document.RootElement.EnumerateObject())
            {
                if (!string.Equals(Path.GetFileName(entry.Name), fileName, StringComparison.Ordinal)) continue;
                var windows = new List<AnomalyWindow>();
                foreach (var pair in entry.Value.EnumerateArray())
                {
                    if (pair.ValueKind != JsonValueKind.Array || pair.GetArrayLength() != 2)
                        throw new BadInputException($"a window of \"{entry.Name}\" is {pair}; expected [start, end]", path);
                    var start = ParseTimestamp(pair[0].GetString() ?? "");
                    var end = ParseTimestamp(pair[1].GetString() ?? "");
                    if (start is null || end is null || end < start)
                        throw new BadInputException($"window {pair} of \"{entry.Name}\" is not [start, end] with yyyy-MM-dd HH:mm:ss times", path);
                    windows.Add(new AnomalyWindow(start.Value, end.Value));
                }
                return windows;
            }
        }
        throw new BadInputException($"no windows for {fileName}", path);
    }

    /// <summary>A NAB timestamp as UTC microseconds since the epoch, or null.</summary>
    public static long? ParseTimestamp(string text) =>
        DateTime.TryParseExact(text.Trim(), s_timestampFormats, CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var time)
            ? (time.Ticks - DateTime.UnixEpoch.Ticks) / TimeSpan.TicksPerMicrosecond
            : null;
}

using System.CommandLine;
using System.Globalization;
using StreamMl.Engine;
using StreamMl.Operators.Anomaly;
using StreamMl.Operators.Anomaly.Evaluation;

namespace StreamMl.Host.Cli;

/// <summary><c>streamml anomaly evaluate --data DIR --series a,b [--config FILE]</c>: runs one detector configuration
/// over NAB-format series and prints windows detected, false alarms and delays, beside the rolling z-score baseline.</summary>
internal static class AnomalyCommand
{
    /// <summary>The yardstick printed under every evaluation.</summary>
    internal static readonly AnomalyDetectorSettings Baseline = new(AnomalyDetectors.ZScore);

    public static Command Create()
    {
        var data = new Option<string>("--data") { Description = "Directory with NAB-format series (timestamp,value CSVs) and combined_windows.json", Required = true };
        var series = new Option<string>("--series") { Description = "Comma-separated series names (a file name or its start, e.g. machine_temperature,nyc_taxi)", Required = true };
        var config = new Option<string?>("--config") { Description = "Detector configuration file: 'detector: NAME' and one 'parameter: value' per line (default: the seasonal detector's defaults)" };
        var evaluate = new Command("evaluate", "Run a detector configuration over labelled series and count detected windows, false alarms and delays") { data, series, config };
        evaluate.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            try
            {
                var settings = parse.GetValue(config) is { } path ? ReadConfig(path) : AnomalyDetectorSettings.Default;
                AnomalyDetectors.Validate(settings);
                var names = parse.GetValue(series)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                if (names.Length == 0) throw new BadInputException("name at least one series", "--series");
                var loaded = names.Select(name => NabData.Load(parse.GetValue(data)!, name)).ToList();
                Print(output, settings, loaded);
                return ExitCodes.Ok;
            }
            catch (Exception ex) when (ex is BadInputException or AnomalyDetectorException)
            {
                error.WriteLine($"error: {ex.Message}");
                return ExitCodes.Failed;
            }
        });
        return new Command("anomaly", "Anomaly detectors") { evaluate };
    }

    private static void Print(TextWriter output, AnomalyDetectorSettings settings, List<LabelledSeries> series)
    {
        output.WriteLine($"{"detector",-10} {"series",-36} {"points",7} {"windows",9} {"false alarms",13} {"per 2,000",10} {"mean delay",11}");
        foreach (var configuration in new[] { settings, Baseline })
        {
            var results = series.Select(s => AnomalyEvaluation.Evaluate(s, configuration)).ToList();
            results.Add(AnomalyEvaluation.Total(results));
            foreach (var r in results)
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{configuration.Detector,-10} {r.Series,-36} {r.Points,7} {r.WindowsDetected + "/" + r.Windows,9} {r.FalseAlarms,13} {r.FalseAlarmsPer2000,10:F2} {Hours(r.MeanDelay),11}"));
        }
        output.WriteLine($"configuration: {settings}; baseline: {Baseline} (window 288, threshold 3)");
        output.WriteLine("An alarm is the first of consecutive detections; a window is detected by an alarm inside it; delay is from the window's start.");
    }

    private static string Hours(TimeSpan? delay) => delay is { } d ? (d.TotalHours.ToString("F1", CultureInfo.InvariantCulture) + " h") : "-";

    /// <summary>Reads <c>detector: NAME</c> and <c>parameter: value</c> lines; <c>#</c> starts a comment.</summary>
    internal static AnomalyDetectorSettings ReadConfig(string path)
    {
        if (!File.Exists(path)) throw new BadInputException("no such file", path);
        string? detector = null;
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        var lineNumber = 0;
        foreach (var raw in File.ReadLines(path))
        {
            lineNumber++;
            var hash = raw.IndexOf('#');
            var line = (hash >= 0 ? raw[..hash] : raw).Trim();
            if (line.Length == 0) continue;
            var colon = line.IndexOf(':');
            if (colon <= 0) throw new BadInputException($"'{raw.Trim()}' is not 'name: value'", $"{path}:{lineNumber}");
            var name = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            if (name == "detector") detector = value;
            else if (!parameters.TryAdd(name, value)) throw new BadInputException($"'{name}' is given twice", $"{path}:{lineNumber}");
        }
        return new AnomalyDetectorSettings(detector ?? AnomalyDetectors.Seasonal, parameters);
    }
}

using System.Globalization;
using StreamMl.Engine;

namespace StreamMl.Host.Hosting;

/// <summary>How much memory the host lets its pipelines' rings take: set with <c>--memory-budget</c>,
/// <see cref="StreamMlOptions.MemoryBudget"/> or <c>STREAMML_MEMORY_BUDGET</c> as bytes (<c>8GiB</c>, <c>512MB</c>,
/// <c>1073741824</c>) or a share of the memory the process may use (<c>25%</c>); by default half of it.</summary>
internal static class MemoryBudget
{
    /// <summary>The environment variable read when neither the command line nor the options set a budget.</summary>
    public const string EnvironmentVariable = "STREAMML_MEMORY_BUDGET";

    /// <summary>The default share of the memory available to the process (physical memory, or the container's limit).</summary>
    public const double DefaultShare = 0.5;

    /// <summary>Memory the process may use: physical memory or the container's limit, as the garbage collector sees it.</summary>
    public static long Available => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;

    /// <summary>The budget in bytes: <paramref name="setting"/> (command line or options) when given, else the
    /// environment variable, else <see cref="DefaultShare"/> of <see cref="Available"/>.</summary>
    public static long Resolve(string? setting)
    {
        if (!string.IsNullOrWhiteSpace(setting)) return Parse(setting, "the memory budget");
        var environment = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(environment)) return Parse(environment, EnvironmentVariable);
        return (long)(Available * DefaultShare);
    }

    /// <summary><see cref="Resolve"/> for a command: false, with the reason written to <paramref name="error"/>, when the
    /// setting cannot be read (the command then exits with the usage code).</summary>
    public static bool TryResolve(string? setting, TextWriter error, out long budget)
    {
        try
        {
            budget = Resolve(setting);
            return true;
        }
        catch (Engine.StreamMlException ex)
        {
            error.WriteLine($"error: {ex.Message}");
            budget = 0;
            return false;
        }
    }

    /// <summary>Parses <c>8GiB</c>, <c>512MB</c>, <c>1.5GB</c>, <c>1073741824</c> or <c>25%</c>.</summary>
    public static long Parse(string text, string what)
    {
        var value = text.Trim();
        if (value.EndsWith('%'))
        {
            if (double.TryParse(value[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var percent) && percent is > 0 and <= 100)
                return (long)(Available * percent / 100);
            throw new StreamMlException($"{what} '{text}' is not a share of memory between 0% and 100%");
        }
        var units = new (string Suffix, double Bytes)[]
        {
            ("KiB", 1L << 10), ("MiB", 1L << 20), ("GiB", 1L << 30), ("TiB", 1L << 40),
            ("KB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12), ("B", 1),
        };
        var factor = 1.0;
        foreach (var (suffix, bytes) in units)
        {
            if (!value.EndsWith(suffix, StringComparison.OrdinalIgnoreCase)) continue;
            value = value[..^suffix.Length].Trim();
            factor = bytes;
            break;
        }
        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && number > 0 && number * factor < long.MaxValue)
            return (long)(number * factor);
        throw new StreamMlException($"{what} '{text}' is not a size: write bytes with a unit (8GiB, 512MB, 1073741824) or a share of memory (25%)");
    }

    /// <summary>Bytes in binary units: <c>3.9 GiB</c>.</summary>
    public static string Format(double bytes)
    {
        string[] units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB"];
        var unit = 0;
        while (bytes >= 1024 && unit < units.Length - 1)
        {
            bytes /= 1024;
            unit++;
        }
        return unit == 0 ? $"{bytes:N0} bytes" : string.Create(CultureInfo.InvariantCulture, $"{bytes:0.#} {units[unit]}");
    }
}

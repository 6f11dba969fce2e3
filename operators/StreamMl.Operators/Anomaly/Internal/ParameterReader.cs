using System.Globalization;

namespace StreamMl.Operators.Anomaly.Internal;

/// <summary>Reads a detector's parameters from their text form, with errors that name the detector, the parameter and
/// what was expected; unknown names are rejected with the list of known ones.</summary>
internal sealed class ParameterReader(string detector, IReadOnlyDictionary<string, string>? parameters)
{
    private readonly HashSet<string> _known = new(StringComparer.Ordinal);

    public double Double(string name, double fallback, double min, double max, bool minExclusive = false)
    {
        if (!TryGet(name, out var text)) return fallback;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
            throw Bad(name, text, "a number");
        if (value < min || value > max || (minExclusive && value == min))
            throw Bad(name, text, $"a number {(minExclusive ? "above" : "from")} {Show(min)}{(max < double.MaxValue ? $" to {Show(max)}" : "")}");
        return value;
    }

    public int Int(string name, int fallback, int min, int max)
    {
        if (!TryGet(name, out var text)) return fallback;
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
            throw Bad(name, text, "a whole number");
        if (value < min || value > max) throw Bad(name, text, $"a whole number from {min} to {max}");
        return value;
    }

    public bool Bool(string name, bool fallback)
    {
        if (!TryGet(name, out var text)) return fallback;
        return text.Trim().ToLowerInvariant() switch
        {
            "true" or "yes" or "on" => true,
            "false" or "no" or "off" => false,
            _ => throw Bad(name, text, "true or false"),
        };
    }

    /// <summary>A duration such as <c>30m</c>, <c>1d</c>, <c>12h</c>, <c>90s</c>, <c>1w</c>, or <c>hh:mm:ss</c>.</summary>
    public TimeSpan Duration(string name, TimeSpan fallback, TimeSpan min)
    {
        if (!TryGet(name, out var text)) return fallback;
        var value = ParseDuration(text) ?? throw Bad(name, text, "a duration such as 30m, 12h, 1d or 1w");
        if (value < min) throw Bad(name, text, $"a duration of at least {min}");
        return value;
    }

    /// <summary>Throws when a parameter was given that no <c>Double</c>/<c>Int</c>/… call asked for.</summary>
    public void RejectUnknown()
    {
        if (parameters is null) return;
        foreach (var name in parameters.Keys)
            if (!_known.Contains(name))
                throw new AnomalyDetectorException(
                    $"anomaly detector '{detector}' has no parameter '{name}'; its parameters are {string.Join(", ", _known.Order(StringComparer.Ordinal))}");
    }

    internal static TimeSpan? ParseDuration(string text)
    {
        text = text.Trim();
        if (text.Length >= 2 && double.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var amount) && amount >= 0)
        {
            switch (char.ToLowerInvariant(text[^1]))
            {
                case 's': return TimeSpan.FromSeconds(amount);
                case 'm': return TimeSpan.FromMinutes(amount);
                case 'h': return TimeSpan.FromHours(amount);
                case 'd': return TimeSpan.FromDays(amount);
                case 'w': return TimeSpan.FromDays(7 * amount);
            }
        }
        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var span) && span >= TimeSpan.Zero ? span : null;
    }

    private bool TryGet(string name, out string text)
    {
        _known.Add(name);
        text = "";
        if (parameters is null || !parameters.TryGetValue(name, out var found)) return false;
        text = found;
        return true;
    }

    private AnomalyDetectorException Bad(string name, string text, string expected) =>
        new($"anomaly detector '{detector}': parameter '{name}' is '{text}'; expected {expected}");

    private static string Show(double value) => value.ToString(CultureInfo.InvariantCulture);
}

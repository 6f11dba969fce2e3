using System.Globalization;
using System.Text;

namespace StreamMl.Host.Hosting;

/// <summary>Makes text that came from a client safe to echo in a status or a log line: at most a bounded number of
/// characters (a 1 MB name must not become a 1 MB log line or overflow gRPC's metadata), control characters such as NUL
/// escaped as <c>\u0000</c>.</summary>
internal static class SafeText
{
    /// <summary>Characters of a client-given name or value echoed in a message (120).</summary>
    public const int MaxEcho = 120;

    /// <summary>Characters of a status detail sent back (4,000): gRPC sends it as a trailer, and trailers of more than
    /// a few kilobytes make clients fail the call with RESOURCE_EXHAUSTED instead of showing the error.</summary>
    public const int MaxDetail = 4_000;

    /// <summary>Characters of a message written to the log (2,000).</summary>
    public const int MaxLog = 2_000;

    /// <summary><paramref name="text"/> in single quotes, escaped and cut to <paramref name="max"/> characters, with how
    /// long it was when it was cut.</summary>
    public static string Quote(string? text, int max = MaxEcho) => $"'{Clip(text ?? "", max, keepNewLines: false)}'";

    /// <summary>A status detail: control characters other than new lines and tabs escaped, cut to <see cref="MaxDetail"/>.</summary>
    public static string Detail(string text) => Clip(text, MaxDetail, keepNewLines: true);

    /// <summary>A log message: every control character escaped (so one call cannot forge log lines), cut to <see cref="MaxLog"/>.</summary>
    public static string ForLog(string text) => Clip(text, MaxLog, keepNewLines: false);

    private static string Clip(string text, int max, bool keepNewLines)
    {
        var cut = text.Length > max;
        var shown = cut ? text.AsSpan(0, max) : text.AsSpan();
        if (!cut && !NeedsEscape(shown, keepNewLines)) return text;
        var builder = new StringBuilder(shown.Length + 40);
        foreach (var c in shown)
        {
            if (!char.IsControl(c) || (keepNewLines && c is '\n' or '\t')) builder.Append(c);
            else if (c == '\n') builder.Append("\\n");
            else if (c == '\r') builder.Append("\\r");
            else if (c == '\t') builder.Append("\\t");
            else builder.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
        }
        if (cut) builder.Append(CultureInfo.InvariantCulture, $"… ({text.Length:N0} characters in all)");
        return builder.ToString();
    }

    private static bool NeedsEscape(ReadOnlySpan<char> text, bool keepNewLines)
    {
        foreach (var c in text)
            if (char.IsControl(c) && !(keepNewLines && c is '\n' or '\t')) return true;
        return false;
    }
}

using System.Globalization;
using StreamMl.Engine;
using StreamMl.Recommendations.Pipelines;

namespace StreamMl.Recommendations.Evaluation;

/// <summary>A list of interactions in time order (ties keep file order), as read from a file for offline evaluation.
/// Non-numeric user or item ids are numbered through <see cref="UserNames"/> / <see cref="ItemNames"/>.</summary>
public sealed class InteractionLog
{
    /// <summary>Creates a log from columns and sorts it by time (stable).</summary>
    public InteractionLog(long[] users, long[] items, long[] timesMicros, float[] weights)
    {
        if (items.Length != users.Length || timesMicros.Length != users.Length || weights.Length != users.Length)
            throw new ArgumentException("interaction columns differ in length");
        var order = Enumerable.Range(0, users.Length).ToArray();
        Array.Sort(order, (a, b) => timesMicros[a] != timesMicros[b] ? timesMicros[a].CompareTo(timesMicros[b]) : a.CompareTo(b));
        Users = order.Select(i => users[i]).ToArray();
        Items = order.Select(i => items[i]).ToArray();
        TimesMicros = order.Select(i => timesMicros[i]).ToArray();
        Weights = order.Select(i => weights[i]).ToArray();
    }

    /// <summary>User of each event, in time order.</summary>
    public long[] Users { get; }

    /// <summary>Item of each event.</summary>
    public long[] Items { get; }

    /// <summary>Event time, UTC microseconds.</summary>
    public long[] TimesMicros { get; }

    /// <summary>Weight (rating, or 1).</summary>
    public float[] Weights { get; }

    /// <summary>Number of events.</summary>
    public int Count => Users.Length;

    /// <summary>Names of non-numeric user ids (empty when every id was a number).</summary>
    public StringIds UserNames { get; private init; } = new();

    /// <summary>Names of non-numeric item ids.</summary>
    public StringIds ItemNames { get; private init; } = new();

    /// <summary>The events from <paramref name="start"/> for <paramref name="length"/>, as a batch.</summary>
    public InteractionBatch Slice(int start, int length) => new(Users.AsSpan(start, length), Items.AsSpan(start, length),
        TimesMicros.AsSpan(start, length), Weights.AsSpan(start, length));

    /// <summary>Reads a delimited file. Errors name the file, line and field.</summary>
    public static InteractionLog Read(string path, InteractionFileOptions options)
    {
        if (!File.Exists(path)) throw new BadInputException("the interactions file does not exist", path);
        var users = new List<long>();
        var items = new List<long>();
        var times = new List<long>();
        var weights = new List<float>();
        var userNames = new StringIds();
        var itemNames = new StringIds();
        int userColumn = -1, itemColumn = -1, timeColumn = -1, ratingColumn = -1;
        var lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (line.Length == 0) continue;
            var fields = line.Split(options.Delimiter);
            if (userColumn < 0)
            {
                var header = options.HasHeader ? fields : null;
                userColumn = Resolve(options.User, header, fields.Length, path, "user");
                itemColumn = Resolve(options.Item, header, fields.Length, path, "item");
                timeColumn = Resolve(options.Time, header, fields.Length, path, "time");
                if (options.Rating is { } rating) ratingColumn = Resolve(rating, header, fields.Length, path, "rating");
                if (options.HasHeader) continue;
            }
            var location = $"{path}:{lineNumber}";
            var needed = Math.Max(Math.Max(userColumn, itemColumn), Math.Max(timeColumn, ratingColumn)) + 1;
            if (fields.Length < needed)
                throw new BadInputException($"the line has {fields.Length} fields, expected at least {needed} (is the delimiter '{Show(options.Delimiter)}' right?)", location);
            users.Add(ParseId(fields[userColumn], userNames));
            items.Add(ParseId(fields[itemColumn], itemNames));
            times.Add(ParseTime(fields[timeColumn].Trim(), location, options.Time));
            weights.Add(ratingColumn < 0 ? 1f : ParseRating(fields[ratingColumn].Trim(), location, options.Rating!));
        }
        if (users.Count == 0) throw new BadInputException("the file holds no interactions", path);
        return new InteractionLog([.. users], [.. items], [.. times], [.. weights]) { UserNames = userNames, ItemNames = itemNames };
    }

    private static string Show(char delimiter) => delimiter == '\t' ? "\\t" : delimiter.ToString();

    private static int Resolve(string column, string[]? header, int fieldCount, string path, string role)
    {
        if (header is not null)
        {
            var index = Array.FindIndex(header, h => h.Trim().Equals(column, StringComparison.OrdinalIgnoreCase));
            if (index >= 0) return index;
        }
        if (int.TryParse(column, NumberStyles.None, CultureInfo.InvariantCulture, out var position) && position >= 1 && position <= fieldCount)
            return position - 1;
        throw new BadInputException(header is null
            ? $"the {role} column '{column}' must be a column number from 1 to {fieldCount} (the file has no header)"
            : $"the {role} column '{column}' is not in the header ({string.Join(", ", header.Select(h => h.Trim()))}) and is not a column number",
            $"{path}:1");
    }

    private static long ParseId(string field, StringIds names)
    {
        var text = field.AsSpan().Trim();
        // Numeric ids are kept as they are; other ids get numbers beyond any realistic numeric id's range would clash
        // with, so they are numbered from 2^62 up.
        return long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var id) ? id : (1L << 62) + names.GetOrAdd(text);
    }

    private static long ParseTime(string field, string location, string column)
    {
        if (long.TryParse(field, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds))
            return seconds * 1_000_000;
        if (double.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out var fractional))
            return (long)(fractional * 1_000_000);
        if (DateTimeOffset.TryParse(field, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time))
            return (time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / TimeSpan.TicksPerMicrosecond;
        throw new BadInputException($"the time field '{column}' is '{field}', not Unix seconds or an ISO 8601 date", location);
    }

    private static float ParseRating(string field, string location, string column) =>
        float.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out var rating) && float.IsFinite(rating)
            ? rating
            : throw new BadInputException($"the rating field '{column}' is '{field}', not a number", location);
}

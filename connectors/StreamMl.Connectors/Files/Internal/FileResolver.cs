using System.Text;
using System.Text.RegularExpressions;
using StreamMl.Engine;

namespace StreamMl.Connectors.Files.Internal;

/// <summary>Expands file paths, folders and glob patterns (<c>*</c>, <c>?</c>, <c>**</c>) into file lists.</summary>
internal static class FileResolver
{
    /// <summary>The files an input names, sorted by name within a folder or glob; an input naming nothing throws.</summary>
    public static List<string> Resolve(IEnumerable<string> inputs, bool allowEmpty = false)
    {
        var files = new List<string>();
        foreach (var input in inputs)
        {
            var found = Expand(input);
            if (found.Count == 0 && !allowEmpty)
                throw new BadInputException("no input file matches; check the path or pattern", input);
            foreach (var file in found)
                if (!files.Contains(file)) files.Add(file);
        }
        return files;
    }

    public static List<string> Expand(string input)
    {
        if (!IsPattern(input))
        {
            if (File.Exists(input)) return [Path.GetFullPath(input)];
            if (Directory.Exists(input))
                return [.. Directory.EnumerateFiles(input).Where(IsKnownFormat).Select(Path.GetFullPath).Order(StringComparer.Ordinal)];
            return [];
        }
        var (root, pattern) = Split(input);
        if (!Directory.Exists(root)) return [];
        var regex = GlobToRegex(pattern);
        var option = pattern.Contains("**", StringComparison.Ordinal) || pattern.Contains('/') ? SearchOption.AllDirectories : SearchOption.TopDirectoryOnly;
        return [.. Directory.EnumerateFiles(root, "*", option)
            .Where(f => regex.IsMatch(Path.GetRelativePath(root, f).Replace('\\', '/')))
            .Select(Path.GetFullPath)
            .Order(StringComparer.Ordinal)];
    }

    /// <summary>The folder a watched input lives in and the pattern its new files must match.</summary>
    public static (string Folder, Regex Pattern) WatchTarget(string input)
    {
        if (IsPattern(input))
        {
            var (root, pattern) = Split(input);
            return (root, GlobToRegex(pattern));
        }
        if (Directory.Exists(input)) return (input, new Regex("^[^/]+$", RegexOptions.CultureInvariant));
        var folder = Path.GetDirectoryName(Path.GetFullPath(input)) ?? ".";
        return (folder, new Regex("^" + Regex.Escape(Path.GetFileName(input)) + "$", RegexOptions.CultureInvariant));
    }

    public static bool IsKnownFormat(string path) => FormatOf(path) is not null;

    /// <summary>The format a file name implies, or null.</summary>
    public static FileFormat? FormatOf(string path)
    {
        var name = path.ToLowerInvariant();
        if (name.EndsWith(".gz", StringComparison.Ordinal)) name = name[..^3];
        if (name.EndsWith(".csv", StringComparison.Ordinal) || name.EndsWith(".tsv", StringComparison.Ordinal) || name.EndsWith(".txt", StringComparison.Ordinal))
            return FileFormat.Csv;
        if (name.EndsWith(".jsonl", StringComparison.Ordinal) || name.EndsWith(".ndjson", StringComparison.Ordinal) || name.EndsWith(".json", StringComparison.Ordinal))
            return FileFormat.JsonLines;
        if (name.EndsWith(".parquet", StringComparison.Ordinal)) return FileFormat.Parquet;
        return null;
    }

    private static bool IsPattern(string input) => input.AsSpan().IndexOfAny('*', '?') >= 0;

    private static (string Root, string Pattern) Split(string input)
    {
        var parts = input.Replace('\\', '/').Split('/');
        var firstWild = Array.FindIndex(parts, p => p.AsSpan().IndexOfAny('*', '?') >= 0);
        var root = string.Join('/', parts[..firstWild]);
        if (root.Length == 0) root = input.StartsWith('/') ? "/" : ".";
        return (root, string.Join('/', parts[firstWild..]));
    }

    internal static Regex GlobToRegex(string pattern)
    {
        var text = new StringBuilder("^");
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '*' && i + 1 < pattern.Length && pattern[i + 1] == '*')
            {
                // "**/" matches any number of folders, including none.
                var slash = i + 2 < pattern.Length && pattern[i + 2] == '/';
                text.Append(slash ? "(?:.*/)?" : ".*");
                i += slash ? 2 : 1;
            }
            else if (c == '*') text.Append("[^/]*");
            else if (c == '?') text.Append("[^/]");
            else text.Append(Regex.Escape(c.ToString()));
        }
        return new Regex(text.Append('$').ToString(), RegexOptions.CultureInvariant);
    }
}

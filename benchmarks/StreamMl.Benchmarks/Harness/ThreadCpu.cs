using System.Globalization;

namespace StreamMl.Benchmarks.Harness;

/// <summary>CPU time (user + system) per thread of a Linux process, read from <c>/proc/&lt;pid&gt;/task/*/stat</c>, and
/// per process from <c>/proc/&lt;pid&gt;/stat</c>. CPU time, unlike a stage's busy wall-clock time, does not grow when
/// other processes take the cores, so a per-row figure from it holds on a loaded machine. Thread names are the kernel's
/// (the first 15 characters of <c>Thread.Name</c>).</summary>
public static class ThreadCpu
{
    private static readonly double s_tick = 1.0 / 100; // USER_HZ: 100 on Linux

    /// <summary>CPU seconds per thread id, with the thread's name; empty where /proc is missing.</summary>
    public static Dictionary<int, (string Name, double Seconds)> Threads(int processId)
    {
        var result = new Dictionary<int, (string, double)>();
        var folder = $"/proc/{processId}/task";
        if (!Directory.Exists(folder)) return result;
        foreach (var task in Directory.EnumerateDirectories(folder))
        {
            if (!int.TryParse(Path.GetFileName(task), out var id)) continue;
            if (Read(Path.Combine(task, "stat")) is { } stat) result[id] = stat;
        }
        return result;
    }

    /// <summary>The CPU seconds of a whole process (all its threads, exited ones included), or null once it is gone.</summary>
    public static double? Process(int processId) => Read($"/proc/{processId}/stat")?.Seconds;

    /// <summary>CPU seconds spent between two snapshots, summed by the group <paramref name="groupOf"/> gives each
    /// thread name (threads that started in between count from zero).</summary>
    public static Dictionary<string, double> Spent(Dictionary<int, (string Name, double Seconds)> before,
        Dictionary<int, (string Name, double Seconds)> after, Func<string, string> groupOf)
    {
        var groups = new Dictionary<string, double>();
        foreach (var (id, (name, seconds)) in after)
        {
            var spent = seconds - (before.TryGetValue(id, out var b) && b.Name == name ? b.Seconds : 0);
            var group = groupOf(name);
            groups[group] = groups.GetValueOrDefault(group) + spent;
        }
        return groups;
    }

    private static (string Name, double Seconds)? Read(string path)
    {
        string text;
        try { text = File.ReadAllText(path); }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
        // pid (comm) state ppid ... field 14 utime, 15 stime; comm may hold spaces and parentheses: split at the last ')'.
        var open = text.IndexOf('(', StringComparison.Ordinal);
        var close = text.LastIndexOf(')');
        var name = text[(open + 1)..close];
        var fields = text[(close + 2)..].Split(' ');
        var user = long.Parse(fields[11], CultureInfo.InvariantCulture);
        var system = long.Parse(fields[12], CultureInfo.InvariantCulture);
        return (name, (user + system) * s_tick);
    }
}

using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace StreamMl.Host.Tests.Kafka;

/// <summary>A <c>streamml</c> process (the host built beside the tests) with its output captured line by line, and the
/// Kafka partitions it owns as its connector log lines tell ("assigned t[0], t[1]", "revoked ...", "lost ...").</summary>
internal sealed partial class StreamMlProcess : IDisposable
{
    private const int SigTerm = 15;

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly HashSet<string> _owned = [];
    private readonly Lock _gate = new();

    private StreamMlProcess(string name, Process process)
    {
        Name = name;
        _process = process;
    }

    public string Name { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>Every line the process wrote (standard output and error), in arrival order.</summary>
    public IReadOnlyList<string> Lines => [.. _lines];

    /// <summary>Rows written by the sinks, from the last progress line of <c>streamml run --plain</c>.</summary>
    public long Written { get; private set; }

    /// <summary>Partitions this process owns now, as "topic[partition]".</summary>
    public IReadOnlySet<string> Owned
    {
        get
        {
            lock (_gate) return _owned.ToHashSet();
        }
    }

    /// <summary>Starts <c>streamml</c> with <paramref name="arguments"/> from the test's output folder.</summary>
    public static StreamMlProcess Start(string name, params string[] arguments) => Start(name, new Dictionary<string, string>(), arguments);

    /// <summary>Starts <c>streamml</c> with <paramref name="arguments"/> and these environment variables set.</summary>
    public static StreamMlProcess Start(string name, IReadOnlyDictionary<string, string> environment, params string[] arguments)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "streamml.dll"));
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        foreach (var (variable, value) in environment) info.Environment[variable] = value;
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var result = new StreamMlProcess(name, process);
        process.OutputDataReceived += (_, e) => result.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => result.OnLine(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return result;
    }

    private void OnLine(string? line)
    {
        if (line is null) return;
        _lines.Enqueue(line);
        if (Progress().Match(line) is { Success: true } progress)
            Written = long.Parse(progress.Groups["written"].Value, System.Globalization.NumberStyles.AllowThousands, System.Globalization.CultureInfo.InvariantCulture);
        var match = Ownership().Match(line);
        if (!match.Success) return;
        var partitions = match.Groups["partitions"].Value.Split(", ", StringSplitOptions.RemoveEmptyEntries);
        lock (_gate)
        {
            if (match.Groups["what"].Value == "assigned") _owned.UnionWith(partitions);
            else _owned.ExceptWith(partitions);
        }
    }

    /// <summary>Asks the process to stop as a service manager does (SIGTERM): it drains, commits and leaves the group.</summary>
    public void Terminate()
    {
        if (kill(_process.Id, SigTerm) != 0) throw new InvalidOperationException($"kill -TERM {_process.Id} failed ({Marshal.GetLastPInvokeError()})");
    }

    /// <summary>Kills the process at once (SIGKILL): no drain, no commit, no goodbye to the group.</summary>
    public void Kill() => _process.Kill(entireProcessTree: true);

    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }

    [GeneratedRegex(@"kafka source [^:]+: (?<what>assigned|revoked|lost) (?<partitions>.+)$")]
    private static partial Regex Ownership();

    [GeneratedRegex(@" written=(?<written>[\d,]+) ")]
    private static partial Regex Progress();

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int signal);
}

using System.Diagnostics;

namespace StreamMl.Host.Tests.Node;

/// <summary>Node.js for the tests that check the host with clients it did not write: finds node, installs the npm
/// packages of tests/node-client through scripts/node-tools.sh when one is missing, and runs a program.</summary>
internal static class NodeTool
{
    /// <summary>The node executable, tests/node-client with <paramref name="package"/> (a folder under its
    /// node_modules) installed, and the repository's root.</summary>
    public static async Task<(string Node, string ClientFolder, string Root)> PrepareAsync(string package)
    {
        var root = RepositoryRoot();
        var clientFolder = Path.Combine(root, "tests", "node-client");
        var node = FindOnPath("node") ?? throw new InvalidOperationException(
            "node is not installed: this test needs Node.js 18+ and npm (Debian: apt-get install nodejs npm), then ./scripts/node-tools.sh");
        if (!Directory.Exists(Path.Combine(clientFolder, "node_modules", package)))
            Assert.Equal(0, (await RunAsync(Path.Combine(root, "scripts", "node-tools.sh"), [], root)).Code);
        return (node, clientFolder, root);
    }

    /// <summary>Runs <paramref name="file"/> in <paramref name="folder"/> (at most two minutes) and returns its exit
    /// code and output.</summary>
    public static async Task<(int Code, string Output, string Error)> RunAsync(string file, string[] args, string folder,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Select(dir => Path.Combine(dir, name)).FirstOrDefault(File.Exists);

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "StreamMl.sln"))) return dir.FullName;
        throw new InvalidOperationException("StreamMl.sln not found above " + AppContext.BaseDirectory);
    }
}

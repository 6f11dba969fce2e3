namespace StreamMl.Operators.Tests.Drift;

/// <summary>Finds the shared datasets: walks up from the test binaries to the folder holding StreamMl.sln, then
/// goes to ../shared/data. Fails (never skips) when they are missing.</summary>
internal static class TestData
{
    public static string Path(params string[] parts)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(System.IO.Path.Combine(dir.FullName, "StreamMl.sln"))) dir = dir.Parent;
        if (dir is null) throw new InvalidOperationException($"no StreamMl.sln above {AppContext.BaseDirectory}");
        var path = System.IO.Path.GetFullPath(System.IO.Path.Combine([dir.FullName, "..", "shared", "data", .. parts]));
        if (!File.Exists(path)) throw new FileNotFoundException($"shared dataset missing: {path} (see /work/shared/data/README.md)", path);
        return path;
    }
}

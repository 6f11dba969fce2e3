namespace StreamMl.Operators.Tests.Drift;

/// <summary>Finds the shared datasets: walks up from the test binaries to the folder holding StreamMl.sln, then
/// goes to ../shared/data. Fails (never skips) when they are missing.</summary>
internal static class TestData
{
    public static string Path(params string[] parts)
    {
        var path = StreamMl.Testing.SharedData.File(parts);
        if (!File.Exists(path)) throw new FileNotFoundException($"shared dataset missing: {path} (see /work/shared/data/README.md)", path);
        return path;
    }
}

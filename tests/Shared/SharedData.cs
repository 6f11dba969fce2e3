namespace StreamMl.Testing;

/// <summary>Where the tests find the repository and the shared datasets, one place for every test project (linked in by
/// Directory.Build.props). The datasets are never copied into the repository: they are looked up in
/// <c>$STREAMML_DATA</c> when set, else in <c>../shared/data</c> beside the repository root, else in the nearest
/// <c>shared/data</c> of an ancestor folder. A missing dataset fails the test with the paths tried.</summary>
internal static class SharedData
{
    private static readonly Lazy<string> s_repositoryRoot = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (System.IO.File.Exists(Path.Combine(dir.FullName, "StreamMl.sln"))) return dir.FullName;
        throw new InvalidOperationException($"StreamMl.sln not found above {AppContext.BaseDirectory}");
    });

    private static readonly Lazy<string> s_root = new(FindRoot);

    /// <summary>The folder holding StreamMl.sln.</summary>
    public static string RepositoryRoot => s_repositoryRoot.Value;

    /// <summary>The shared data folder (holding credit_default/, california_housing/, nab/).</summary>
    public static string Root => s_root.Value;

    /// <summary>A path inside the shared data folder.</summary>
    public static string File(params string[] parts) => Path.GetFullPath(Path.Combine([Root, .. parts]));

    private static string FindRoot()
    {
        var tried = new List<string>();
        if (Environment.GetEnvironmentVariable("STREAMML_DATA") is { Length: > 0 } variable)
        {
            if (Directory.Exists(variable)) return Path.GetFullPath(variable);
            tried.Add(variable);
        }
        for (var dir = new DirectoryInfo(RepositoryRoot); dir is not null; dir = dir.Parent)
        {
            var candidate = dir.FullName == RepositoryRoot
                ? Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "data"))
                : Path.Combine(dir.FullName, "shared", "data");
            if (Directory.Exists(candidate)) return candidate;
            tried.Add(candidate);
        }
        throw new DirectoryNotFoundException(
            $"the shared datasets were not found; tried {string.Join(", ", tried)}. Set STREAMML_DATA to the folder holding credit_default/.");
    }
}

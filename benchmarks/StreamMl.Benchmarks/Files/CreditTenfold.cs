using StreamMl.Benchmarks.Harness.Scenarios;

namespace StreamMl.Benchmarks.Files;

/// <summary>S6's CSV input: the credit file's header and its 30,000 rows ten times over (300,000 rows × 25 columns,
/// 28.6 MB), written under the temporary folder.</summary>
internal static class CreditTenfold
{
    /// <summary>Writes the file into <c>TMP/<paramref name="folderName"/>/credit-10x.csv</c> and returns its path.</summary>
    public static string Write(string folderName)
    {
        var folder = Path.Combine(Path.GetTempPath(), folderName);
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, "credit-10x.csv");
        var lines = File.ReadAllLines(CreditWorkload.SourceCsv);
        using var writer = new StreamWriter(path);
        writer.WriteLine(lines[0]);
        for (var copy = 0; copy < 10; copy++)
            foreach (var line in lines.Skip(1)) writer.WriteLine(line);
        return path;
    }
}

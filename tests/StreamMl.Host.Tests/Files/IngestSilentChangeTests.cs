using System.CommandLine;
using System.Globalization;
using System.Text;
using Parquet;
using StreamMl.Host.Cli;
using StreamMl.Host.Files;
using StreamMl.Host.Models;
using StreamMl.Host.Specs;

namespace StreamMl.Host.Tests.Files;

/// <summary>Issue 12 item 5 from the user's side: <c>--infer-only</c> shows the values that do not fit the inferred
/// type (with their line) and the columns later files add; <c>--trim</c> and the spec's <c>trim</c> /
/// <c>infer_threshold</c> reach the file source. Parquet output is read back with Parquet.Net.</summary>
public sealed class IngestSilentChangeTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("streamml-silent-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_folder, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    private static Task<(int Code, string Out, string Err)> Ingest(params string[] args) => IngestCli.RunAsync(args);

    private static Task<List<string?>> Strings(string dir, string column) => IngestCli.ReadStringsAsync(dir, column);

    [Fact]
    public async Task InferOnly_PrintsTheOutliersWithTheirLine_AndTheColumnALaterFileAdds()
    {
        var text = new StringBuilder("id,value\n");
        for (var i = 1; i <= 2000; i++) text.Append(i).Append(',').Append(i == 700 ? "abc" : (i * 3).ToString(CultureInfo.InvariantCulture)).Append('\n');
        Write("in/a.csv", text.ToString());
        Write("in/b.csv", "id,value,comment\n2001,5,late\n");
        var (code, stdout, stderr) = await Ingest(Path.Combine(_folder, "in"), "-o", Path.Combine(_folder, "out"), "--infer-only");
        Assert.True(code == 0, stderr + stdout);
        Assert.Contains("value: 1 sampled value is not int64", stdout);
        Assert.Contains("line 701 'abc'", stdout);
        Assert.Contains("column 'comment' first appears in", stdout);
        Assert.Contains("declaration: id:int64,value:int64,comment:string", stdout);
    }

    [Fact]
    public async Task Trim_IsOffByDefault_AndOnWithTheFlag()
    {
        var input = Write("padded.csv", "id,name\n1,\"  a  \"\n2, b\n");
        var kept = Path.Combine(_folder, "kept");
        var trimmed = Path.Combine(_folder, "trimmed");
        var (code, stdout, stderr) = await Ingest(input, "-o", kept, "--plain");
        Assert.True(code == 0, stderr + stdout);
        (code, stdout, stderr) = await Ingest(input, "-o", trimmed, "--plain", "--trim");
        Assert.True(code == 0, stderr + stdout);
        Assert.Equal(["  a  ", " b"], await Strings(kept, "name"));
        Assert.Equal(["a", "b"], await Strings(trimmed, "name"));
    }

    [Fact]
    public void Spec_FileSource_AcceptsTrimAndInferThreshold_AndChecksTheRange()
    {
        var compiler = new SpecCompiler(ComponentRegistry.CreateDefault(), new ModelCatalog());
        var input = Write("data.csv", "id,name\n1,a\n");
        var spec = $$"""
            name: files
            source:
              kind: file
              path: "{{input}}"
              trim: true
              infer_threshold: 0.95
            sinks:
              - kind: parquet
                path: "{{Path.Combine(_folder, "out")}}"
            """;
        Assert.Empty(ValidateCommand.Validate(compiler, spec, null));
        var errors = ValidateCommand.Validate(compiler, spec.Replace("0.95", "2", StringComparison.Ordinal), null);
        var error = Assert.Single(errors);
        Assert.Equal(6, error.Line);
        Assert.Contains("infer_threshold", error.Message);
    }
}

using StreamMl.Host.Tests.Kafka;

namespace StreamMl.Host.Tests.Training;

/// <summary>A training spec is held to the same size and nesting limits as a pipeline spec (one check,
/// <c>SpecNode.WithinLimits</c>), on a real <c>streamml train</c> process: a stack overflow in a reader cannot be
/// caught, so only a separate process would show one.</summary>
public sealed class TrainSpecLimitTests : IDisposable
{
    private readonly string _folder = TrainingTestData.TempFolder();

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Theory]
    // Before: the typed deserializer stopped at the first node it could not map (it never recursed far enough to
    // overflow), but said so in .NET's words or far from the problem: lists gave "line 1, column 1: No node
    // deserializer was able to deserialize the node into type ..., streamml, Version=1..." and mappings "line 1,
    // column 2: unknown key 'a'". Now the limit pipeline specs have is checked first, with the same message.
    // The 65th collection is where the limit is reached: column 65 of "[[[", column 4 × 64 + 1 of "{a: {a: ".
    [InlineData("lists", 100_000, 65)]
    [InlineData("mappings", 30_000, 257)]
    public async Task Train_with_a_deeply_nested_spec_exits_1_with_the_line_and_column(string kind, int levels, int column)
    {
        var path = Path.Combine(_folder, "deep.yaml");
        File.WriteAllText(path, kind == "lists"
            ? new string('[', levels) + new string(']', levels) + "\n"
            : string.Concat(Enumerable.Repeat("{a: ", levels)) + "1" + new string('}', levels) + "\n");
        using var process = StreamMlProcess.Start("train", "train", "--spec", path, "--plain");
        Assert.True(await process.WaitForExitAsync(TimeSpan.FromSeconds(60)), "train did not finish");
        var output = string.Join('\n', process.Lines);
        Assert.True(process.ExitCode == 1, $"exit code {process.ExitCode}: {output[..Math.Min(output.Length, 400)]}");
        Assert.Contains($"error: {path} line 1, column {column}: the spec nests mappings and lists more than 64 levels deep here", output);
        Assert.Empty(TrainingTestData.Tree(Path.Combine(_folder, "models")));
    }

    [Fact]
    public async Task Train_with_a_deep_value_under_a_key_names_that_line()
    {
        var path = Path.Combine(_folder, "deep-key.yaml");
        File.WriteAllText(path, "name: deep\ntarget: y\nhyperparameters: " + string.Concat(Enumerable.Repeat("{a: ", 30_000)) + "1" + new string('}', 30_000) + "\n");
        using var process = StreamMlProcess.Start("train", "train", "--spec", path, "--plain");
        Assert.True(await process.WaitForExitAsync(TimeSpan.FromSeconds(60)), "train did not finish");
        var output = string.Join('\n', process.Lines);
        Assert.True(process.ExitCode == 1, $"exit code {process.ExitCode}: {output[..Math.Min(output.Length, 400)]}");
        // Before: "line 3, column 19: unknown key 'a' in hyperparameters (did you mean 'l2'?)".
        // The root mapping is level 1, so the 64th "{a: " after the key is level 65.
        Assert.Contains($"error: {path} line 3, column {"hyperparameters: ".Length + 4 * 63 + 1}: the spec nests mappings and lists more than 64 levels deep", output);
    }
}

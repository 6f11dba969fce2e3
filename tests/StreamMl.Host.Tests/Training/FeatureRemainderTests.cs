using System.Text.Json;
using StreamMl.Host.Registry;

namespace StreamMl.Host.Tests.Training;

/// <summary>Issue 12 item 19: a <c>features:</c> list that names some columns never silently drops the others.</summary>
public sealed class FeatureRemainderTests : IDisposable
{
    private readonly string _folder = TrainingTestData.TempFolder();

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Models => Path.Combine(_folder, "models");

    /// <summary>The credit file's input columns from a plain read of its header: all but ID and the target.</summary>
    private static string[] CreditInputs() => File.ReadLines(TrainingTestData.Credit).First().Split(',').Select(h => h.Trim('"'))
        .Where(h => h is not ("ID" or "default.payment.next.month")).ToArray();

    private string OneStepSpec(string extra = "") => TrainingTestData.CreditSpec(_folder,
        "features: [{ step: standardScale, columns: [LIMIT_BAL] }]\n" + extra, limit: 1500, trees: 10);

    [Fact]
    public void A_features_list_naming_one_column_fails_and_lists_every_column_left_out()
    {
        // Before: exit 0, one feature (LIMIT_BAL), the model promoted to production.
        var (exit, output, error) = TrainingTestData.Cli("train", "--spec", OneStepSpec(), "--plain");
        Assert.True(exit == 1, $"exit {exit}: {output}{error}");
        var leftOut = CreditInputs().Where(c => c != "LIMIT_BAL").ToArray();
        Assert.Contains($"{leftOut.Length} of {leftOut.Length + 1} input columns are named by no feature step and would be left out: {string.Join(", ", leftOut)}", error);
        Assert.Contains("remainder: passthrough", error);
        Assert.Empty(TrainingTestData.Tree(Models));
    }

    [Fact]
    public void Remainder_passthrough_keeps_every_column_with_default_handling()
    {
        var (exit, output, error) = TrainingTestData.Cli("train", "--spec", OneStepSpec("remainder: passthrough"), "--plain");
        Assert.True(exit == 0, output + error);
        var version = new ModelRegistry(Models).Open("credit", 1);
        using var schema = JsonDocument.Parse(File.ReadAllBytes(version.PathOf(ModelPackage.SchemaFile)));
        var inputs = schema.RootElement.GetProperty("inputs").EnumerateArray().Select(i => i.GetProperty("name").GetString()).Order().ToArray();
        Assert.Equal(CreditInputs().Order().ToArray(), inputs);
        // Every credit column is numeric without gaps: one feature each, the named one first.
        var features = schema.RootElement.GetProperty("features").EnumerateArray().Select(f => f.GetString()).ToArray();
        Assert.Equal(CreditInputs().Length, features.Length);
        Assert.Equal("LIMIT_BAL", features[0]);
        Assert.Contains($"{CreditInputs().Length} features", output);
    }

    [Fact]
    public void Remainder_drop_keeps_only_the_named_columns_and_says_which_it_left_out()
    {
        var (exit, output, error) = TrainingTestData.Cli("train", "--spec", OneStepSpec("remainder: drop"), "--plain");
        Assert.True(exit == 0, output + error);
        var leftOut = CreditInputs().Where(c => c != "LIMIT_BAL").ToArray();
        Assert.Contains($"remainder: drop: {leftOut.Length} columns no step names are left out: {string.Join(", ", leftOut)}", output);
        Assert.Contains(", 1 features", output);
    }

    [Fact]
    public void An_unknown_remainder_is_refused_before_the_data_is_read() =>
        Assert.Contains("remainder 'keep' is not error, passthrough or drop",
            TrainingTestData.Cli("train", "--spec", OneStepSpec("remainder: keep")).Error);
}

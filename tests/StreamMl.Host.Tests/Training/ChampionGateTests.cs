using System.Globalization;
using System.Text.Json;
using StreamMl.Host.Registry;
using StreamMl.Host.Training;

namespace StreamMl.Host.Tests.Training;

/// <summary>Issue 12 item 20: the champion gate decides on cross-validated scores of both recipes over the same folds
/// (paired), with a stated margin, records its numbers, and <c>models list</c> shows CV mean ± std and held-out.</summary>
public sealed class ChampionGateTests : IDisposable
{
    private readonly string _folder = TrainingTestData.TempFolder();

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Models => Path.Combine(_folder, "models");

    private ModelRegistry Registry => new(Models);

    [Fact]
    public void A_challenger_that_is_not_better_on_the_same_folds_does_not_replace_production()
    {
        var spec = TrainingTestData.CreditSpec(_folder, limit: 1500, trees: 10);
        Assert.Equal(0, TrainingTestData.Cli("train", "--spec", spec, "--plain").Exit);

        // The same recipe again: not an improvement. Before: held-out 0 ≥ margin 0 passed and v2 replaced v1.
        var again = TrainingTestData.Cli("train", "--spec", spec, "--plain");
        Assert.True(again.Exit == TrainingCommands.GatesFailedExitCode, again.Output + again.Error);
        Assert.Contains("gate champion: FAIL", again.Output);
        Assert.Equal(1, Registry.Stages("credit").Production);
        var decision = Registry.Open("credit", 2).Manifest.Champion!;
        Assert.Equal("cross-validation", decision.Basis);
        Assert.Equal(1, decision.ProductionVersion);
        Assert.Equal(3, decision.Folds);
        Assert.All(decision.FoldImprovements, d => Assert.Equal(0, d, 9));
        Assert.False(decision.Passed);
    }

    [Fact]
    public void A_better_recipe_is_promoted_and_the_paired_numbers_match_both_versions_own_fold_scores()
    {
        Assert.Equal(0, TrainingTestData.Cli("train", "--spec", TrainingTestData.CreditSpec(_folder, limit: 1500, trees: 2), "--plain").Exit);
        var strong = TrainingTestData.Cli("train", "--spec", TrainingTestData.CreditSpec(_folder, limit: 1500, trees: 40), "--plain");
        Assert.True(strong.Exit == 0, strong.Output + strong.Error);
        Assert.Equal(2, Registry.Stages("credit").Production);

        // v1's own cross-validation (its metrics.json) ran on the same rows and folds: the re-run of its recipe in v2's
        // gate must give the same fold scores, so the improvements are v2's fold AUCs minus v1's, fold by fold.
        var v1 = FoldAucs(1);
        var v2 = FoldAucs(2);
        var decision = Registry.Open("credit", 2).Manifest.Champion!;
        Assert.Equal(v1.Length, decision.Folds);
        for (var i = 0; i < v1.Length; i++) Assert.Equal(v2[i] - v1[i], decision.FoldImprovements[i], 9);
        var mean = v2.Zip(v1, (a, b) => a - b).Average();
        var std = Math.Sqrt(v2.Zip(v1, (a, b) => a - b).Sum(d => (d - mean) * (d - mean)) / (v1.Length - 1));
        Assert.Equal(mean, decision.MeanImprovement, 9);
        Assert.Equal(std, decision.StdDevImprovement, 9);
        Assert.Equal(std / Math.Sqrt(v1.Length), decision.StandardError, 9);
        Assert.True(decision.Passed);
        Assert.Contains("roc_auc +", Registry.Stages("credit").History[^1].Reason);

        // models list: CV mean ± std and held-out for each version, as in its metrics.json.
        var list = TrainingTestData.Cli("models", "list", "--registry", Models).Output;
        foreach (var version in new[] { 1, 2 })
        {
            using var metrics = JsonDocument.Parse(File.ReadAllBytes(Registry.Open("credit", version).PathOf(ModelPackage.MetricsFile)));
            var cv = metrics.RootElement.GetProperty("crossValidation").GetProperty("roc_auc");
            var held = metrics.RootElement.GetProperty("heldOut").GetProperty("roc_auc").GetDouble();
            Assert.Contains(string.Create(CultureInfo.InvariantCulture,
                $"roc_auc cv {cv.GetProperty("mean").GetDouble():F4} ± {cv.GetProperty("std").GetDouble():F4} held-out {held:F4}"), list);
        }
    }

    [Fact]
    public void A_margin_the_improvement_does_not_exceed_keeps_production()
    {
        Assert.Equal(0, TrainingTestData.Cli("train", "--spec", TrainingTestData.CreditSpec(_folder, limit: 1500, trees: 2), "--plain").Exit);
        var run = TrainingTestData.Cli("train", "--spec",
            TrainingTestData.CreditSpec(_folder, "gates: { championMargin: 0.5 }", limit: 1500, trees: 40), "--plain");
        Assert.Equal(TrainingCommands.GatesFailedExitCode, run.Exit);
        var decision = Registry.Open("credit", 2).Manifest.Champion!;
        Assert.True(decision.MeanImprovement is > 0 and < 0.5);
        Assert.Equal(0.5, decision.Margin);
        Assert.Equal(1, Registry.Stages("credit").Production);
    }

    [Fact]
    public void A_production_version_without_a_stored_spec_is_compared_on_held_out_rows_and_says_so()
    {
        Assert.Equal(0, TrainingTestData.Cli("train", "--spec", TrainingTestData.CreditSpec(_folder, limit: 1500, trees: 2), "--plain").Exit);
        // A version registered before specs were kept: its manifest has no "spec" (the manifest is not in its own checksums).
        var manifestPath = Path.Combine(Models, "credit", "1", ModelPackage.ManifestFile);
        var manifest = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(manifestPath))!.AsObject();
        Assert.True(manifest.Remove("spec"));
        File.WriteAllText(manifestPath, manifest.ToJsonString());

        var run = TrainingTestData.Cli("train", "--spec", TrainingTestData.CreditSpec(_folder, limit: 1500, trees: 40), "--plain");
        Assert.True(run.Exit is 0 or TrainingCommands.GatesFailedExitCode, run.Output + run.Error);
        Assert.Contains("champion compared on held-out rows only: production v1 keeps no training spec", run.Output);
        var decision = Registry.Open("credit", 2).Manifest.Champion!;
        Assert.Equal("held-out", decision.Basis);
        using var metrics = JsonDocument.Parse(File.ReadAllBytes(Registry.Open("credit", 2).PathOf(ModelPackage.MetricsFile)));
        Assert.Equal(metrics.RootElement.GetProperty("heldOut").GetProperty("roc_auc").GetDouble(), decision.ChallengerMean, 12);
        Assert.Contains("hyperparameters: not kept", TrainingTestData.Cli("models", "show", "credit", "1", "--registry", Models).Output);
    }

    private double[] FoldAucs(int version)
    {
        using var metrics = JsonDocument.Parse(File.ReadAllBytes(Registry.Open("credit", version).PathOf(ModelPackage.MetricsFile)));
        return metrics.RootElement.GetProperty("folds").EnumerateArray()
            .Select(f => f.GetProperty("metrics").GetProperty("roc_auc").GetDouble()).ToArray();
    }
}

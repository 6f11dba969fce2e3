using System.Text.Json;
using StreamMl.Engine;
using StreamMl.Host.Registry;
using StreamMl.Host.Training;

namespace StreamMl.Host.Tests.Training;

/// <summary>Issue 12 item 22: spec errors in the user's words, the trainer checked before the data is read, the full
/// spec and hyper-parameters kept with every version, cross-validated F1 at the threshold the held-out F1 uses.</summary>
public sealed class TrainingSpecRecordTests : IDisposable
{
    private readonly string _folder = TrainingTestData.TempFolder();

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Models => Path.Combine(_folder, "models");

    private const string Base = "name: m\ndata: { path: d.csv }\ntarget: y\n";

    [Fact]
    public void An_unknown_yaml_key_names_its_line_column_section_and_the_valid_keys()
    {
        // Before: "Property 'learning_rate' not found on type 'StreamMl.Host.Training.HyperparameterSpec'."
        var message = Assert.Throws<StreamMlException>(() =>
            TrainSpec.Parse(Base + "hyperparameters:\n  trees: 3\n  learning_rate: 0.1\n", json: false, "s.yaml")).Message;
        Assert.Equal("s.yaml line 6, column 3: unknown key 'learning_rate' in hyperparameters (did you mean 'learningRate'?); "
            + "valid keys: trees, leaves, learningRate, minLeaf, l2, iterations, featureFraction, earlyStopping, validationFraction, l1, normalize", message);

        var top = Assert.Throws<StreamMlException>(() => TrainSpec.Parse(Base + "folds: 5\n", json: false, "s.yaml")).Message;
        Assert.StartsWith("s.yaml line 4, column 1: unknown key 'folds' in the top level; valid keys: name, data, target, task,", top);
        var step = Assert.Throws<StreamMlException>(() => TrainSpec.Parse(Base + "features:\n  - { step: oneHot, colums: [a] }\n", json: false, "s.yaml")).Message;
        Assert.Contains("unknown key 'colums' in a feature step (did you mean 'columns'?)", step);
    }

    [Theory]
    [InlineData("hyperparameters:\n  trees: abc\n", "line 5, column 10")]
    [InlineData("hyperparameters: 5\n", "hyperparameters must be a mapping of keys (trees, leaves, learningRate, minLeaf, l2, iterations, featureFraction, earlyStopping, validationFraction, l1, normalize)")]
    // Before: "No node deserializer was able to deserialize the node into type of the expected kind, of the expected kind,
    // Version=10.0.0.0, Culture=neutral, PublicKeyToken=7cec85d7bea7798e" (and likewise for the two below).
    [InlineData("gates: { championMargin: [1] }\n", "line 4, column 26: the value here is not a number")]
    [InlineData("data: [1]\n", "line 4, column 7: the value here is not a mapping of the keys of data (kind, path, test, cache, drop, limit)")]
    [InlineData("remainder: [x]\n", "line 4, column 12: the value here is not text")]
    // Before: "Arithmetic operation resulted in an overflow. (expected a number here)".
    [InlineData("hyperparameters: { trees: 99999999999 }\n", "line 4, column 27: the number is too large here")]
    public void A_wrongly_typed_yaml_value_is_explained_without_dotnet_type_names(string yaml, string expected)
    {
        var message = Assert.Throws<StreamMlException>(() => TrainSpec.Parse(Base + yaml, json: false, "s.yaml")).Message;
        Assert.Contains(expected, message);
        Assert.DoesNotContain("System.", message);
        Assert.DoesNotContain("StreamMl.", message);
        Assert.DoesNotContain("Version=", message);
        Assert.DoesNotContain("PublicKeyToken", message);
    }

    [Fact]
    public void Json_spec_errors_name_line_column_key_and_expected_value()
    {
        var unknown = Assert.Throws<StreamMlException>(() =>
            TrainSpec.Parse("{\"name\":\"m\",\n \"hyperparameters\":{\"learning_rate\":1}}", json: true, "s.json")).Message;
        Assert.StartsWith("s.json line 2, column ", unknown);
        Assert.Contains("unknown key 'learning_rate' in hyperparameters (did you mean 'learningRate'?); valid keys: trees, leaves", unknown);
        var wrong = Assert.Throws<StreamMlException>(() => TrainSpec.Parse("{\"name\":\"m\",\"hyperparameters\":{\"trees\":\"x\"}}", json: true, "s.json")).Message;
        Assert.Contains("the value of 'hyperparameters.trees' is not a whole number", wrong);
        Assert.DoesNotContain("System.", wrong);
    }

    [Fact]
    public void An_unknown_trainer_is_refused_before_the_data_is_read()
    {
        // The data file does not exist: before, the read failed first ("data file ... does not exist").
        var spec = TrainingTestData.Write(_folder, "xgb.yaml", $"""
            name: m
            data: {"{"} path: {Path.Combine(_folder, "not-there.csv")} {"}"}
            target: y
            trainer: xgboost
            registry: {"{"} path: {Models} {"}"}
            """);
        var (exit, _, error) = TrainingTestData.Cli("train", "--spec", spec);
        Assert.Equal(1, exit);
        Assert.Contains("trainer 'xgboost' does not do binary; use one of: lr, sdca, fasttree, fastforest, lightgbm", error);
        Assert.DoesNotContain("does not exist", error);
        File.WriteAllText(spec, File.ReadAllText(spec).Replace("trainer: xgboost", "gates: { metric: auc }"));
        Assert.Contains("gates.metric 'auc' is not a binary metric; use one of: accuracy, precision, recall, f1, roc_auc, pr_auc, log_loss",
            TrainingTestData.Cli("train", "--spec", spec).Error);
    }

    [Fact]
    public void Two_lr_versions_keep_their_spec_and_hyperparameters_and_show_tells_them_apart()
    {
        foreach (var l2 in new[] { "0.1", "10" })
        {
            var spec = TrainingTestData.CreditSpec(_folder, limit: 1500, trainer: "lr");
            var text = File.ReadAllText(spec).Replace("hyperparameters: { trees: 30, leaves: 16, learningRate: 0.05, minLeaf: 20 }",
                $"hyperparameters: {{ l2: {l2}, iterations: 50 }}");
            Assert.Contains($"l2: {l2}", text);
            File.WriteAllText(spec, text);
            var run = TrainingTestData.Cli("train", "--spec", spec, "--plain");
            Assert.True(run.Exit is 0 or TrainingCommands.GatesFailedExitCode, run.Output + run.Error);
        }
        var registry = new ModelRegistry(Models);
        foreach (var (version, l2) in new[] { (1, 0.1), (2, 10.0) })
        {
            var opened = registry.Open("credit", version);
            // The spec file of the version, read as plain JSON.
            using var spec = JsonDocument.Parse(File.ReadAllBytes(opened.PathOf(ModelPackage.SpecFile)));
            Assert.Equal("lr", spec.RootElement.GetProperty("trainer").GetString());
            Assert.Equal(l2, spec.RootElement.GetProperty("hyperparameters").GetProperty("l2").GetDouble(), 6);
            Assert.Equal(50, spec.RootElement.GetProperty("hyperparameters").GetProperty("iterations").GetInt32());
            Assert.Equal(Path.GetFullPath(TrainingTestData.Credit), spec.RootElement.GetProperty("data").GetProperty("path").GetString());
            Assert.Equal(l2, opened.Manifest.Hyperparameters["l2"], 6);

            var show = TrainingTestData.Cli("models", "show", "credit", version.ToString(System.Globalization.CultureInfo.InvariantCulture), "--registry", Models);
            Assert.True(show.Exit == 0, show.Error);
            Assert.Contains($"hyperparameters: l2={l2.ToString(System.Globalization.CultureInfo.InvariantCulture)}, iterations=50", show.Output);
            Assert.Contains("\"spec\": {", show.Output);
        }
        var list = TrainingTestData.Cli("models", "list", "--registry", Models).Output;
        Assert.Contains("[l2=0.1 iterations=50]", list);
        Assert.Contains("[l2=10 iterations=50]", list);
    }

    [Fact]
    public async Task Cross_validated_f1_is_at_the_tuned_threshold_like_the_held_out_f1()
    {
        var report = await TrainingRunner.RunAsync(TrainSpec.Load(TrainingTestData.CreditSpec(_folder, "threshold: { objective: maxF1 }", limit: 2000, trees: 20)));
        var threshold = report.Threshold!.Threshold;
        Assert.NotEqual(0.5, threshold, 3);
        // Plain reference: each fold's F1 recomputed from the fold's stored predictions at the tuned threshold.
        foreach (var fold in report.CrossValidation.Folds)
        {
            long tp = 0, fp = 0, fn = 0;
            for (var i = 0; i < fold.ValidationRowIndices.Length; i++)
            {
                var positive = LabelOf(report, fold.ValidationRowIndices[i]);
                var predicted = fold.ValidationPredictions[i] >= threshold;
                if (predicted && positive) tp++;
                else if (predicted) fp++;
                else if (positive) fn++;
            }
            Assert.Equal(2.0 * tp / (2 * tp + fp + fn), fold.Validation["f1"], 9);
        }
        // The registry states the threshold the cross-validated F1 is at: the one held-out F1 and serving use.
        using var metrics = JsonDocument.Parse(File.ReadAllBytes(report.Version.PathOf(ModelPackage.MetricsFile)));
        Assert.Equal(threshold, metrics.RootElement.GetProperty("crossValidationThreshold").GetDouble(), 12);
        Assert.Equal(threshold, report.Version.Manifest.Threshold!.Value, 12);
    }

    // The label of a cross-validated row, read from the data file by its line (a plain parse, not the training table).
    private static bool LabelOf(TrainingReport report, int position)
    {
        s_lines ??= File.ReadAllLines(TrainingTestData.Credit);
        var line = report.FoldAssignment[position].Line;
        return s_lines[line - 1].Split(',')[^1].Trim('"') == "1";
    }

    private static string[]? s_lines;
}

using StreamMl.Engine;
using StreamMl.Host.Training;

namespace StreamMl.Host.Tests.Training;

public sealed class BadInputTests : IDisposable
{
    private readonly string _folder = TrainingTestData.TempFolder();

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Models => Path.Combine(_folder, "models");

    private string Spec(string data, string target, string task = "binary", string extra = "") =>
        TrainingTestData.Write(_folder, $"spec-{Guid.NewGuid():N}.yaml", $"""
            name: bad
            data: {"{"} path: {data} {"}"}
            target: {target}
            task: {task}
            trainer: fasttree
            hyperparameters: {"{"} trees: 5 {"}"}
            validation: {"{"} folds: 2 {"}"}
            registry: {"{"} path: {Models} {"}"}
            {extra}
            """);

    private void AssertRefused(string spec, string expected)
    {
        var (exit, output, error) = TrainingTestData.Cli("train", "--spec", spec);
        Assert.True(exit == 1, $"exit {exit}: {output}{error}");
        Assert.Contains(expected, error);
        Assert.Empty(TrainingTestData.Tree(Models));
    }

    [Fact]
    public void A_missing_target_column_names_the_columns_that_exist() =>
        AssertRefused(Spec(TrainingTestData.Credit, "defaulted"), "the spec's target 'defaulted' is not a column; columns are: ID, LIMIT_BAL");

    [Fact]
    public void A_missing_feature_column_is_named() =>
        AssertRefused(Spec(TrainingTestData.Credit, "default.payment.next.month", extra: "features: [{ step: standardScale, columns: [LIMIT_BAL, INCOME] }]"),
            "feature step 'standardScale' column 'INCOME' is not a column");

    [Fact]
    public void A_single_class_target_is_refused()
    {
        var csv = TrainingTestData.Write(_folder, "one-class.csv", "a,b,y\n" + string.Join("\n", Enumerable.Range(0, 50).Select(i => $"{i},{i * 2},0")) + "\n");
        AssertRefused(Spec(csv, "y"), "target 'y' has a single class ('0' in all 50 rows)");
    }

    [Fact]
    public void A_non_numeric_regression_target_names_the_line() =>
        AssertRefused(Spec(TrainingTestData.Housing, "ocean_proximity", "regression"),
            "housing.csv line 2: regression target 'ocean_proximity' is not numeric ('NEAR BAY')");

    [Fact]
    public void An_empty_dataset_is_refused()
    {
        var csv = TrainingTestData.Write(_folder, "empty.csv", "a,b,y\n");
        AssertRefused(Spec(csv, "y"), "has a header but no data rows");
        var nothing = TrainingTestData.Write(_folder, "nothing.csv", "");
        AssertRefused(Spec(nothing, "y"), "is empty");
    }

    [Fact]
    public void A_spec_with_an_unknown_key_or_trainer_is_refused()
    {
        AssertRefused(Spec(TrainingTestData.Credit, "default.payment.next.month", extra: "treshold: { objective: maxF1 }"), "unknown key 'treshold' in the top level (did you mean 'threshold'?)");
        var wrongTrainer = Spec(TrainingTestData.Credit, "default.payment.next.month");
        File.WriteAllText(wrongTrainer, File.ReadAllText(wrongTrainer).Replace("trainer: fasttree", "trainer: ols"));
        AssertRefused(wrongTrainer, "trainer 'ols' does not do binary; use one of: lr, sdca, fasttree, fastforest, lightgbm");
    }

    [Fact]
    public void Json_and_yaml_specs_read_the_same()
    {
        var yaml = TrainSpec.Parse("""
            name: m
            data: { path: d.csv, drop: [ID], limit: 10 }
            target: y
            task: regression
            validation: { folds: 4, repeats: 2 }
            imbalance: { resample: none }
            gates: { maxGap: 0.1 }
            """, json: false);
        var json = TrainSpec.Parse("""
            { "name": "m", "data": { "path": "d.csv", "drop": ["ID"], "limit": 10 }, "target": "y", "task": "regression",
              "validation": { "folds": 4, "repeats": 2 }, "imbalance": { "resample": "none" }, "gates": { "maxGap": 0.1 } }
            """, json: true);
        foreach (var spec in new[] { yaml, json })
        {
            Assert.Equal(["ID"], spec.Data.Drop);
            Assert.Equal(10, spec.Data.Limit);
            Assert.Equal(4, spec.Validation.Folds);
            Assert.Equal(2, spec.Validation.Repeats);
            Assert.Equal(0.1, spec.Gates.MaxGap);
            Assert.Equal("lightgbm", spec.Trainer);
        }
        Assert.Contains("'colour'", Assert.Throws<StreamMlException>(() => TrainSpec.Parse("""{ "name": "m", "colour": 1 }""", json: true)).Message);
        Assert.Contains("'target'", Assert.Throws<StreamMlException>(() => TrainSpec.Parse("name: m\ndata: { path: x }", json: false)).Message);
    }
}

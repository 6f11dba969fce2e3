using System.Globalization;
using DuckDB.NET.Data;
using StreamMl.Host.Registry;

namespace StreamMl.Host.Tests.Training;

/// <summary>Issue 12 item 21: <c>evaluate</c> warns with the share of rows the model was trained on, prints the
/// threshold and confusion matrix, scores files without labels and writes predictions as CSV or Parquet.</summary>
public sealed class EvaluateTests : IDisposable
{
    private const int Rows = 2000;
    private readonly string _folder = TrainingTestData.TempFolder();

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Models => Path.Combine(_folder, "models");

    /// <summary>Trains on the first rows and returns each data line's fold (-1: held out), read from --folds-out.</summary>
    private Dictionary<long, int> Train()
    {
        var folds = Path.Combine(_folder, "folds.csv");
        var run = TrainingTestData.Cli("train", "--spec", TrainingTestData.CreditSpec(_folder, limit: Rows, trees: 10), "--plain", "--folds-out", folds);
        Assert.True(run.Exit == 0, run.Output + run.Error);
        return File.ReadLines(folds).Skip(1).Select(l => l.Split(','))
            .ToDictionary(p => long.Parse(p[0], CultureInfo.InvariantCulture), p => int.Parse(p[1], CultureInfo.InvariantCulture));
    }

    /// <summary>A data line's input values (every field but ID and the target), as plain text.</summary>
    private static string Inputs(string line) => string.Join(',', line.Split(',')[1..^1]);

    /// <summary>The input values of the lines the model was trained on (fold ≥ 0), from a plain read of the file.</summary>
    private static HashSet<string> TrainedInputs(Dictionary<long, int> folds, string[] lines) =>
        folds.Where(f => f.Value >= 0).Select(f => Inputs(lines[f.Key - 1])).ToHashSet();

    private (int Exit, string Output, string Error) Evaluate(string data, params string[] extra) =>
        TrainingTestData.Cli(["evaluate", "--model", "credit", "--data", data, "--registry", Models, .. extra]);

    [Fact]
    public void Evaluating_on_training_rows_warns_with_the_overlap_and_prints_threshold_and_confusion_matrix()
    {
        var folds = Train();
        var lines = File.ReadAllLines(TrainingTestData.Credit);
        // Rows with the same input values as a training row count as seen (the first 2000 rows hold one such held-out row).
        var seen = TrainedInputs(folds, lines);
        var trained = lines.Skip(1).Take(Rows).Count(l => seen.Contains(Inputs(l)));
        Assert.InRange(trained, folds.Count(f => f.Value >= 0), Rows);
        var predictions = Path.Combine(_folder, "predictions.csv");
        var (exit, output, error) = Evaluate(TrainingTestData.Credit, "--limit", $"{Rows}", "--predictions", predictions);
        Assert.True(exit == 0, output + error);
        // Before: no word about it.
        Assert.Contains($"warning: {trained} of {Rows} rows ({((double)trained / Rows).ToString("P1", CultureInfo.InvariantCulture)}) are rows v1 was trained on", error);

        var threshold = new ModelRegistry(Models).Open("credit", 1).Manifest.Threshold!.Value;
        Assert.Contains($"threshold {threshold.ToString("G6", CultureInfo.InvariantCulture)} (stored with v1)", output);

        // The confusion matrix against a plain count over the written predictions and the file's labels.
        var labels = File.ReadLines(TrainingTestData.Credit).Skip(1).Take(Rows).Select(l => l.Split(',')[^1].Trim('"')).ToArray();
        var written = File.ReadLines(predictions).Skip(1).Select(l => l.Split(',')).ToArray();
        Assert.Equal(Rows, written.Length);
        var counts = new long[2, 2];
        for (var i = 0; i < Rows; i++)
        {
            Assert.Equal(i + 2, long.Parse(written[i][0], CultureInfo.InvariantCulture));
            var score = double.Parse(written[i][1], CultureInfo.InvariantCulture);
            var predicted = written[i][2];
            Assert.Equal(score >= threshold ? "1" : "0", predicted);
            counts[labels[i] == "1" ? 1 : 0, predicted == "1" ? 1 : 0]++;
        }
        Assert.Contains("confusion matrix (rows: true class, columns: predicted class):", output);
        Assert.Matches($@"\n\s+0\s+{counts[0, 0]}\s+{counts[0, 1]}\r?\n", output);
        Assert.Matches($@"\n\s+1\s+{counts[1, 0]}\s+{counts[1, 1]}\r?\n", output);
    }

    [Fact]
    public void Held_out_rows_warn_only_for_exact_copies_of_training_rows()
    {
        var folds = Train();
        var lines = File.ReadAllLines(TrainingTestData.Credit);
        var seen = TrainedInputs(folds, lines);
        var heldOut = folds.Where(f => f.Value < 0).Select(f => lines[f.Key - 1]).ToArray();
        var copies = heldOut.Count(l => seen.Contains(Inputs(l)));

        var all = Path.Combine(_folder, "held-out.csv");
        File.WriteAllLines(all, [lines[0], .. heldOut]);
        var (exit, output, error) = Evaluate(all);
        Assert.True(exit == 0, output + error);
        Assert.Contains($"{heldOut.Length} rows scored", output);
        if (copies > 0) Assert.Contains($"warning: {copies} of {heldOut.Length} rows", error);

        var unseen = Path.Combine(_folder, "unseen.csv");
        File.WriteAllLines(unseen, [lines[0], .. heldOut.Where(l => !seen.Contains(Inputs(l)))]);
        var clean = Evaluate(unseen);
        Assert.True(clean.Exit == 0, clean.Output + clean.Error);
        Assert.DoesNotContain("warning", clean.Error);
    }

    [Fact]
    public void A_file_without_the_target_is_scored_and_its_predictions_written_as_parquet()
    {
        Train();
        var lines = File.ReadLines(TrainingTestData.Credit).Take(Rows + 1).ToArray();
        // The target is the last column: cut it off.
        var unlabelled = Path.Combine(_folder, "unlabelled.csv");
        File.WriteAllLines(unlabelled, lines.Select(l => l[..l.LastIndexOf(',')]));
        var labelled = Path.Combine(_folder, "labelled.csv");
        Assert.Equal(0, Evaluate(TrainingTestData.Credit, "--limit", $"{Rows}", "--predictions", labelled).Exit);

        var parquet = Path.Combine(_folder, "out", "predictions.parquet");
        var (exit, output, error) = Evaluate(unlabelled, "--predictions", parquet);
        // Before: "the spec's target 'default.payment.next.month' is not a column", exit 1.
        Assert.True(exit == 0, output + error);
        Assert.Contains("no metrics", output);
        Assert.Contains($"predictions of {Rows} rows written to", output);
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(parquet)!, ".*"));

        // DuckDB reads the Parquet file: the same lines, scores and predictions as the labelled run's CSV.
        var expected = File.ReadLines(labelled).Skip(1).Select(l => l.Split(','))
            .ToDictionary(p => long.Parse(p[0], CultureInfo.InvariantCulture), p => (Score: float.Parse(p[1], CultureInfo.InvariantCulture), Prediction: p[2]));
        using var connection = new DuckDBConnection("Data Source=:memory:");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT line, score, prediction FROM read_parquet('{parquet.Replace("'", "''")}') ORDER BY line";
        using var reader = command.ExecuteReader();
        var count = 0;
        while (reader.Read())
        {
            var line = reader.GetInt64(0);
            Assert.Equal(expected[line].Score, reader.GetFloat(1));
            Assert.Equal(expected[line].Prediction, reader.GetString(2));
            count++;
        }
        Assert.Equal(Rows, count);
    }

    [Fact]
    public void A_predictions_file_of_another_kind_is_refused_before_scoring()
    {
        var (exit, _, error) = Evaluate(TrainingTestData.Credit, "--predictions", Path.Combine(_folder, "p.xlsx"));
        Assert.Equal(1, exit);
        Assert.Contains("--predictions p.xlsx: use a .csv or .parquet file name", error);
    }

    [Fact]
    public void A_predictions_file_that_cannot_be_written_is_an_error_in_words_not_a_stack_trace()
    {
        Train();
        // A folder where the file should go: before, the rename's IOException escaped with its stack trace.
        var taken = Directory.CreateDirectory(Path.Combine(_folder, "taken.csv")).FullName;
        var (exit, _, error) = Evaluate(TrainingTestData.Credit, "--limit", "300", "--predictions", taken);
        Assert.Equal(1, exit);
        Assert.Contains($"error: cannot write the predictions to {taken}:", error);
        Assert.DoesNotContain("   at ", error);
        Assert.DoesNotContain("Exception", error);
        Assert.Empty(Directory.GetFiles(_folder, "*.tmp", SearchOption.AllDirectories));
    }
}

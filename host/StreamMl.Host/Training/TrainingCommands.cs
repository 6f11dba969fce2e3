using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Spectre.Console;
using StreamMl.Engine;
using StreamMl.Host.Registry;
using StreamMl.Operators.Learners;

namespace StreamMl.Host.Training;

/// <summary>The CLI commands of training and the model registry: <c>train</c>, <c>models list|show|promote|rollback</c>
/// and <c>evaluate</c>. The host adds them to its root command.</summary>
public static class TrainingCommands
{
    /// <summary>Exit code when training succeeded but a gate failed (the version stays a candidate).</summary>
    public const int GatesFailedExitCode = 3;

    /// <summary>Every command of this area.</summary>
    public static IReadOnlyList<Command> Create() => [Train(), Models(), Evaluate()];

    private static Option<string> RegistryOption(string? defaultValue = "models") => new("--registry")
    {
        Description = "Model registry folder",
        DefaultValueFactory = _ => defaultValue!,
    };

    /// <summary><c>streamml train --spec FILE [--registry DIR] [--plain]</c>.</summary>
    public static Command Train()
    {
        var spec = new Option<FileInfo>("--spec") { Description = "Training spec (YAML or JSON)", Required = true };
        var registry = new Option<string?>("--registry") { Description = "Registry folder (overrides the spec's registry.path)" };
        var plain = new Option<bool>("--plain") { Description = "Plain log lines instead of progress bars" };
        var foldsOut = new Option<FileInfo?>("--folds-out")
        {
            Description = "Write the cross-validation fold of every training row (CSV: line,fold; held-out rows get -1) to compare other tools on the same folds",
        };
        var command = new Command("train", "Train, validate and register a model from a spec") { spec, registry, plain, foldsOut };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            try
            {
                var trainSpec = TrainSpec.Load(parse.GetRequiredValue(spec).FullName);
                var registryRoot = parse.GetValue(registry);
                var usePlain = parse.GetValue(plain) || Console.IsOutputRedirected || !ReferenceEquals(output, Console.Out)
                    || Environment.GetEnvironmentVariable("CI") is not null;
                TrainingReport report;
                if (usePlain)
                {
                    report = await TrainingRunner.RunAsync(trainSpec, new PlainProgress(output), registryRoot, cancellationToken);
                }
                else
                {
                    report = await AnsiConsole.Progress().AutoClear(false).Columns(
                            new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                        .StartAsync(context => TrainingRunner.RunAsync(trainSpec, new SpectreProgress(context), registryRoot, cancellationToken));
                }
                WriteReport(output, report);
                if (parse.GetValue(foldsOut) is { } foldsFile)
                {
                    using var writer = new StreamWriter(foldsFile.FullName);
                    writer.WriteLine("line,fold");
                    foreach (var (line, fold) in report.FoldAssignment.Concat(report.HeldOutLines.Select(l => (l, -1))).OrderBy(t => t.Item1))
                        writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{line},{fold}"));
                    output.WriteLine($"folds written to {foldsFile.FullName}");
                }
                return report.Gates.Passed ? 0 : GatesFailedExitCode;
            }
            catch (StreamMlException e)
            {
                error.WriteLine($"error: {e.Message}");
                return 1;
            }
        });
        return command;
    }

    /// <summary><c>streamml models list|show|promote|rollback</c>.</summary>
    public static Command Models()
    {
        var registry = RegistryOption();
        var nameArgument = new Argument<string>("name") { Description = "Model name" };
        var versionArgument = new Argument<int>("version") { Description = "Version number" };

        var listName = new Argument<string?>("name") { Description = "Only this model", Arity = ArgumentArity.ZeroOrOne };
        var list = new Command("list", "List models and versions with their stage and headline metrics") { registry, listName };
        list.SetAction(parse => Guard(parse.InvocationConfiguration.Error, () =>
        {
            var reg = new ModelRegistry(parse.GetValue(registry)!);
            var output = parse.InvocationConfiguration.Output;
            var names = parse.GetValue(listName) is { } only ? [only] : reg.Models();
            if (names.Count == 0) output.WriteLine($"no models in {reg.Root}");
            foreach (var name in names)
            {
                output.WriteLine(name);
                foreach (var v in reg.Versions(name))
                {
                    try
                    {
                        var version = reg.Open(name, v);
                        output.WriteLine($"  v{v,-4} {version.Stage.ToString().ToLowerInvariant(),-10} {version.Manifest.CreatedUtc:yyyy-MM-dd HH:mm:ss}Z {version.Manifest.Trainer,-10} {Headline(version.Manifest)}");
                    }
                    catch (RegistryException e)
                    {
                        output.WriteLine($"  v{v,-4} REFUSED    {e.Message}");
                    }
                }
            }
            return 0;
        }));

        var showVersion = new Argument<int?>("version") { Description = "Version (default: production)", Arity = ArgumentArity.ZeroOrOne };
        var show = new Command("show", "Show a version's manifest and lineage") { registry, nameArgument, showVersion };
        show.SetAction(parse => Guard(parse.InvocationConfiguration.Error, () =>
        {
            var reg = new ModelRegistry(parse.GetValue(registry)!);
            var name = parse.GetValue(nameArgument)!;
            var v = parse.GetValue(showVersion) ?? reg.Stages(name).Production
                ?? throw new RegistryException($"model '{name}' has no production version; name a version");
            var version = reg.Open(name, v);
            var output = parse.InvocationConfiguration.Output;
            var m = version.Manifest;
            output.WriteLine($"{name} v{v} ({version.Stage.ToString().ToLowerInvariant()}): {m.Task} {m.Trainer} on '{m.Target}', created {m.CreatedUtc:yyyy-MM-dd HH:mm:ss}Z");
            output.WriteLine("hyperparameters: " + (m.Spec is null
                ? "not kept (registered before training specs were kept)"
                : m.Hyperparameters.Count == 0 ? "the trainer's defaults"
                : string.Join(", ", m.Hyperparameters.Select(h => string.Create(CultureInfo.InvariantCulture, $"{h.Key}={h.Value:G}")))));
            output.WriteLine("metrics: " + Headline(m));
            if (m.Champion is { } c)
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"champion gate vs v{c.ProductionVersion} ({c.Basis}{(c.Folds > 0 ? $", {c.Folds} paired folds" : "")}): {c.Metric} {c.ChallengerMean:F4} vs {c.ChampionMean:F4}, "
                    + $"mean improvement {c.MeanImprovement:+0.0000;-0.0000;0} ± {c.StdDevImprovement:F4} (std error {c.StandardError:F4}; needed > {Math.Max(c.Margin, c.StdErrors * c.StandardError):F4}): {(c.Passed ? "pass" : "FAIL")}"));
            output.WriteLine("manifest (with the full training spec under \"spec\"):");
            output.WriteLine(JsonSerializer.Serialize(m, ModelRegistry.s_json));
            output.WriteLine($"stage: {version.Stage.ToString().ToLowerInvariant()}");
            output.WriteLine("lineage: " + string.Join(" <- ", reg.Lineage(name, v).Select(m => $"v{m.Version}")));
            if (m.Retrain is { } r)
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"retrained: trigger {r.Trigger} at {r.TriggeredUtc:yyyy-MM-dd HH:mm:ss}Z, parent v{m.Parent?.ToString(CultureInfo.InvariantCulture) ?? "-"}, data {r.DataWindow}, spec sha256 {r.SpecSha256}"));
            var history = reg.Stages(name).History.Where(e => e.Version == v).ToList();
            output.WriteLine(history.Count == 0 ? "history: none" : "history:");
            foreach (var e in history)
                output.WriteLine($"  {e.AtUtc:yyyy-MM-dd HH:mm:ss}Z {e.Action,-20} {e.Reason}");
            return 0;
        }));

        var promote = new Command("promote", "Make a version the production version") { registry, nameArgument, versionArgument };
        promote.SetAction(parse => Guard(parse.InvocationConfiguration.Error, () =>
        {
            var reg = new ModelRegistry(parse.GetValue(registry)!);
            var name = parse.GetValue(nameArgument)!;
            var book = reg.Promote(name, parse.GetValue(versionArgument), "cli");
            parse.InvocationConfiguration.Output.WriteLine($"{name}: production is version {book.Production}");
            return 0;
        }));

        var rollback = new Command("rollback", "Return production to the version that served before") { registry, nameArgument };
        rollback.SetAction(parse => Guard(parse.InvocationConfiguration.Error, () =>
        {
            var reg = new ModelRegistry(parse.GetValue(registry)!);
            var name = parse.GetValue(nameArgument)!;
            var book = reg.Rollback(name, "cli");
            parse.InvocationConfiguration.Output.WriteLine($"{name}: rolled back; production is version {book.Production}");
            return 0;
        }));

        var retireReason = new Option<string?>("--reason") { Description = "Why (kept in the history)" };
        var retire = new Command("retire", "Retire a version: its files and history stay, it can never be deployed or promoted again")
        {
            registry, nameArgument, versionArgument, retireReason,
        };
        retire.SetAction(parse => Guard(parse.InvocationConfiguration.Error, () =>
        {
            var reg = new ModelRegistry(parse.GetValue(registry)!);
            var name = parse.GetValue(nameArgument)!;
            var v = parse.GetValue(versionArgument);
            reg.Retire(name, v, parse.GetValue(retireReason) ?? "cli");
            parse.InvocationConfiguration.Output.WriteLine($"{name}: version {v} retired");
            return 0;
        }));

        return new Command("models", "Inspect and manage the model registry") { list, show, promote, rollback, retire };
    }

    /// <summary><c>streamml evaluate --model NAME [--version N] --data FILE [--predictions OUT.csv|OUT.parquet]</c>: scores a
    /// file with a registered model through a streaming pipeline; reports the metrics, threshold and confusion matrix
    /// against the file's target column when it has one; warns when the rows include the model's training rows; writes
    /// every row's score and prediction to a file on request.</summary>
    public static Command Evaluate()
    {
        var registry = RegistryOption();
        var model = new Option<string>("--model") { Description = "Model name", Required = true };
        var version = new Option<int?>("--version") { Description = "Version (default: production)" };
        var data = new Option<FileInfo>("--data") { Description = "Data file (CSV, JSON Lines or Parquet) with the model's input columns; with its target column for metrics", Required = true };
        var limit = new Option<int>("--limit") { Description = "Read only the first rows" };
        var predictionsOut = new Option<FileInfo?>("--predictions") { Description = "Write line, score and prediction of every row to this .csv or .parquet file" };
        var command = new Command("evaluate", "Score a file with a registered model; report its metrics when the file has the target")
        {
            registry, model, version, data, limit, predictionsOut,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            try
            {
                var predictionsFile = parse.GetValue(predictionsOut);
                if (predictionsFile is not null && PredictionsWriter.FormatOf(predictionsFile.FullName) is null)
                    throw new StreamMlException($"--predictions {predictionsFile.Name}: use a .csv or .parquet file name");
                var reg = new ModelRegistry(parse.GetValue(registry)!);
                var name = parse.GetRequiredValue(model);
                var v = parse.GetValue(version) ?? reg.Stages(name).Production
                    ?? throw new RegistryException($"model '{name}' has no production version; pass --version");
                using var loaded = RegisteredModel.Load(reg.Open(name, v));
                var read = await DataTableReader.ReadAsync(parse.GetRequiredValue(data).FullName, parse.GetValue(limit), cancellationToken);
                var table = read.Table;
                if (read.DeadLetters.Count > 0)
                    error.WriteLine($"warning: {read.DeadLetters.Count} records could not be read and were left out; first: {read.DeadLetters[0].Location}: {read.DeadLetters[0].Message}");
                var evaluation = await EvaluateAsync(loaded, table, cancellationToken);
                output.WriteLine($"{name} v{v} on {table.Source}: {evaluation.Result.Scores.Length} rows scored through the streaming pipeline"
                    + (evaluation.Metrics is null ? "" : $", {evaluation.LabelledRows} with a value for '{loaded.Version.Manifest.Target}'"));
                WarnAboutTrainingRows(error, loaded.Version, table);
                if (loaded.Task == LearningTask.Binary)
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"threshold {loaded.Threshold:G6} (stored with v{v}): probability of '{evaluation.Classes![1]}' at or above it predicts '{evaluation.Classes[1]}'"));
                if (evaluation.Metrics is { } metrics)
                {
                    foreach (var (metric, value) in metrics.Values)
                        output.WriteLine($"  {metric,-10} {value.ToString("F4", CultureInfo.InvariantCulture)}");
                    if (metrics.ConfusionMatrix is { } matrix) WriteConfusion(output, matrix, evaluation.Classes!);
                }
                else
                {
                    output.WriteLine($"no metrics: {table.Source} has no value for the target '{loaded.Version.Manifest.Target}' in any row");
                }
                if (predictionsFile is not null)
                {
                    var written = await PredictionsWriter.WriteAsync(predictionsFile.FullName, evaluation.Result, loaded.Task, evaluation.Classes, cancellationToken);
                    output.WriteLine($"predictions of {written} rows written to {predictionsFile.FullName} (line, score, prediction)");
                }
                return 0;
            }
            catch (StreamMlException e)
            {
                error.WriteLine($"error: {e.Message}");
                return 1;
            }
        });
        return command;
    }

    /// <summary>What <see cref="EvaluateAsync"/> found: every row's score, the metrics over the rows with a target value
    /// (null when none has one), and the class names of a classifier.</summary>
    internal sealed record Evaluation(StreamingEvaluator.Result Result, EvaluationMetrics? Metrics, int LabelledRows, string[]? Classes);

    /// <summary>Scores every row of a table with a registered model; metrics over the rows whose target (the column the
    /// model was trained on) has a value. A table without the target column is scored without metrics.</summary>
    internal static async Task<Evaluation> EvaluateAsync(RegisteredModel model, DataTable table, CancellationToken cancellationToken)
    {
        var manifest = model.Version.Manifest;
        var schema = JsonDocument.Parse(File.ReadAllBytes(model.Version.PathOf(ModelPackage.SchemaFile))).RootElement;
        string[]? classes = schema.TryGetProperty("classes", out var c) && c.ValueKind == JsonValueKind.Array
            ? c.EnumerateArray().Select(e => e.GetString()!).ToArray()
            : null;
        var target = table.Find(manifest.Target);
        var labelled = new List<int>();
        var labels = new List<float>();
        for (var r = 0; target is not null && r < table.Rows; r++)
        {
            string? raw = target.IsNumeric
                ? double.IsNaN(target.Numbers![r]) ? null : target.Numbers[r].ToString(CultureInfo.InvariantCulture)
                : target.Texts![r];
            if (raw is null) continue;
            if (model.Task == LearningTask.Regression)
            {
                if (!target.IsNumeric) throw new StreamMlException($"{table.Source}: target '{target.Name}' is not numeric");
                labels.Add((float)target.Numbers![r]);
            }
            else
            {
                var index = Array.IndexOf(classes!, raw);
                if (index < 0) throw new StreamMlException($"{table.Source} line {table.LineNumbers[r]}: class '{raw}' was not seen in training ({string.Join(", ", classes!)})");
                labels.Add(index);
            }
            labelled.Add(r);
        }
        if (table.Rows == 0) throw new StreamMlException($"{table.Source} has no data rows to score");
        var result = await StreamingEvaluator.RunAsync(model, table, null, cancellationToken);
        if (result.Scores.Length != table.Rows)
            throw new StreamMlException($"{table.Source}: {table.Rows} rows went into the scoring pipeline but {result.Scores.Length} came out"
                + (result.DeadLetters.Count > 0 ? $"; first rejected: {result.DeadLetters[0].Location}: {result.DeadLetters[0].Message}" : ""));
        if (labelled.Count == 0) return new Evaluation(result, null, 0, classes);
        // The evaluator returns rows in table order, so the labelled rows' results are at their row positions.
        var subset = new StreamingEvaluator.Result(
            labelled.Select(r => result.Scores[r]).ToArray(), labelled.Select(r => result.Predictions[r]).ToArray(),
            labelled.Select(r => result.Lines[r]).ToArray(), result.DeadLetters);
        var metrics = StreamingEvaluator.Metrics(model.Task, [.. labels], subset, model.Threshold, classes?.Length ?? 1);
        return new Evaluation(result, metrics, labelled.Count, classes);
    }

    /// <summary>Warns when rows of the table are rows the version was fitted on (their metrics flatter the model).</summary>
    private static void WarnAboutTrainingRows(TextWriter error, ModelVersion version, DataTable table)
    {
        if (version.Manifest.Data?.TrainingRows is not { } sample)
        {
            error.WriteLine($"note: v{version.Version} keeps no fingerprint of its training rows (registered before it was kept): cannot tell whether these rows trained it");
            return;
        }
        var missing = sample.Columns.Where(c => table.Find(c) is null).ToList();
        if (missing.Count > 0) return; // scoring has already failed naming the missing inputs
        var rows = Enumerable.Range(0, table.Rows).ToArray();
        var (sampled, found) = TrainingRowHashes.Overlap(sample, File.ReadAllBytes(version.PathOf(sample.File)), table, rows);
        if (found == 0) return;
        var share = (double)found / sampled;
        var exact = sample.Cutoff == ulong.MaxValue;
        var percent = share.ToString("P1", CultureInfo.InvariantCulture);
        error.WriteLine(exact
            ? $"warning: {found} of {table.Rows} rows ({percent}) are rows v{version.Version} was trained on; metrics over them are optimistic. Evaluate on rows it has not seen (e.g. the held-out split, or newer data)"
            : $"warning: about {percent} of the {table.Rows} rows (estimated from {sampled} sampled rows) are rows v{version.Version} was trained on; metrics over them are optimistic. Evaluate on rows it has not seen");
    }

    private static void WriteConfusion(TextWriter output, long[][] matrix, string[] classes)
    {
        var width = Math.Max(8, classes.Max(n => n.Length) + 2);
        output.WriteLine("confusion matrix (rows: true class, columns: predicted class):");
        output.WriteLine(new string(' ', width + 2) + string.Concat(classes.Select(n => n.PadLeft(width))));
        for (var i = 0; i < matrix.Length; i++)
            output.WriteLine("  " + classes[i].PadRight(width) + string.Concat(matrix[i].Select(n => n.ToString(CultureInfo.InvariantCulture).PadLeft(width))));
    }

    private static int Guard(TextWriter error, Func<int> action)
    {
        try
        {
            return action();
        }
        catch (StreamMlException e)
        {
            error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }

    private static void WriteReport(TextWriter output, TrainingReport report)
    {
        var cv = report.CrossValidation;
        output.WriteLine();
        output.WriteLine($"{report.Name}: {report.Task.ToString().ToLowerInvariant()} with {report.Trainer}, {report.Rows} rows, {report.Features} features");
        output.WriteLine($"{"metric",-10} {"cv mean ± std",-20} {"held-out",-10} {"train",-10}"
            + (report.Threshold is { } chosen ? string.Create(CultureInfo.InvariantCulture, $"  (accuracy, precision, recall, f1: all at threshold {chosen.Threshold:G4})") : ""));
        foreach (var (metric, summary) in cv.Validation)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{metric,-10} {summary.Mean,8:F4} ± {summary.StdDev,-9:F4} {report.HeldOut.Values.GetValueOrDefault(metric, double.NaN),-10:F4} {report.Train.Values.GetValueOrDefault(metric, double.NaN),-10:F4}"));
        }
        if (report.Threshold is { } t)
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"threshold {t.Threshold:G4} ({t.Objective}; out-of-fold precision {t.Precision:F3}, recall {t.Recall:F3})"));
        if (report.HeldOut.ConfusionMatrix is { Length: 2 } cm)
            output.WriteLine($"held-out confusion: TN {cm[0][0]} FP {cm[0][1]} FN {cm[1][0]} TP {cm[1][1]}");
        if (report.ChosenTrees is { } trees)
            output.WriteLine($"early stopping: trees per fold {string.Join(", ", cv.Folds.Select(f => f.Trees))}; final model {trees} trees");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ONNX parity (max |ONNX Runtime - ML.NET|): {report.OnnxParity:G3}"));
        if (report.Champion is { Basis: "held-out" } held)
            output.WriteLine($"champion compared on held-out rows only: production v{held.ProductionVersion} keeps no training spec to cross-validate");
        foreach (var gate in report.Gates.Results) output.WriteLine($"gate {gate.Gate}: {(gate.Passed ? "pass" : "FAIL")} - {gate.Message}");
        output.WriteLine($"registered {report.Name} v{report.Version.Version} ({report.Version.Stage.ToString().ToLowerInvariant()}) at {report.Version.Folder}");
        output.WriteLine("timings (s): " + string.Join(", ", report.Timings.Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key} {kv.Value:F2}"))));
    }

    /// <summary>A version's headline for listings: cross-validated mean ± std and held-out value of its task's main
    /// metrics, the threshold they are at, and the hyper-parameters its spec set.</summary>
    private static string Headline(ModelManifest m)
    {
        string[] metrics = m.Task switch { "binary" => ["roc_auc", "f1"], "multiclass" => ["f1", "accuracy"], _ => ["rmse", "r2"] };
        var parts = new List<string>();
        foreach (var metric in metrics)
        {
            if (!m.Headline.TryGetValue("cv_" + metric, out var mean)) continue;
            var text = string.Create(CultureInfo.InvariantCulture, $"{metric} cv {mean:F4}");
            if (m.Headline.TryGetValue($"cv_{metric}_std", out var std)) text += string.Create(CultureInfo.InvariantCulture, $" ± {std:F4}");
            if (m.Headline.TryGetValue("holdout_" + metric, out var held)) text += string.Create(CultureInfo.InvariantCulture, $" held-out {held:F4}");
            parts.Add(text);
        }
        if (m.Task == "binary" && m.Threshold is { } t) parts.Add(string.Create(CultureInfo.InvariantCulture, $"(f1 at threshold {t:G4})"));
        if (m.Hyperparameters.Count > 0)
            parts.Add("[" + string.Join(" ", m.Hyperparameters.Select(h => string.Create(CultureInfo.InvariantCulture, $"{h.Key}={h.Value:G}"))) + "]");
        return string.Join("; ", parts);
    }

    private sealed class PlainProgress(TextWriter output) : ITrainingProgress
    {
        public void Log(string message) => output.WriteLine($"[train] {message}");
        public void Fold(int done, int total) => output.WriteLine($"[train] fold {done}/{total} done");
    }

    private sealed class SpectreProgress(ProgressContext context) : ITrainingProgress
    {
        private ProgressTask? _folds;

        public void Log(string message) => AnsiConsole.MarkupLine($"[grey]{Markup.Escape(message)}[/]");

        public void Fold(int done, int total)
        {
            _folds ??= context.AddTask("cross-validation", maxValue: total);
            _folds.Value = done;
            context.Refresh();
        }
    }
}

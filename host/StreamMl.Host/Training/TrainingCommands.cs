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
                        var m = version.Manifest;
                        var headline = string.Join(" ", m.Headline.Where(h => h.Key is "cv_roc_auc" or "cv_rmse" or "cv_f1" or "holdout_roc_auc" or "holdout_rmse")
                            .Select(h => $"{h.Key}={h.Value.ToString("F4", CultureInfo.InvariantCulture)}"));
                        output.WriteLine($"  v{v,-4} {version.Stage.ToString().ToLowerInvariant(),-10} {m.CreatedUtc:yyyy-MM-dd HH:mm:ss}Z {m.Trainer,-10} {headline}");
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
            output.WriteLine(JsonSerializer.Serialize(version.Manifest, ModelRegistry.s_json));
            output.WriteLine($"stage: {version.Stage.ToString().ToLowerInvariant()}");
            output.WriteLine("lineage: " + string.Join(" <- ", reg.Lineage(name, v).Select(m => $"v{m.Version}")));
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

        return new Command("models", "Inspect and manage the model registry") { list, show, promote, rollback };
    }

    /// <summary><c>streamml evaluate --model NAME [--version N] --data FILE.csv</c>: scores a CSV with a registered
    /// model through a streaming pipeline and reports the metrics against the file's target column.</summary>
    public static Command Evaluate()
    {
        var registry = RegistryOption();
        var model = new Option<string>("--model") { Description = "Model name", Required = true };
        var version = new Option<int?>("--version") { Description = "Version (default: production)" };
        var data = new Option<FileInfo>("--data") { Description = "CSV file with the model's input columns and its target", Required = true };
        var limit = new Option<int>("--limit") { Description = "Read only the first rows" };
        var command = new Command("evaluate", "Score a CSV file with a registered model and report its metrics") { registry, model, version, data, limit };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var output = parse.InvocationConfiguration.Output;
            try
            {
                var reg = new ModelRegistry(parse.GetValue(registry)!);
                var name = parse.GetRequiredValue(model);
                var v = parse.GetValue(version) ?? reg.Stages(name).Production
                    ?? throw new RegistryException($"model '{name}' has no production version; pass --version");
                using var loaded = RegisteredModel.Load(reg.Open(name, v));
                var read = await DataTableReader.ReadAsync(parse.GetRequiredValue(data).FullName, parse.GetValue(limit), cancellationToken);
                var table = read.Table;
                var result = await EvaluateAsync(loaded, table, cancellationToken);
                output.WriteLine($"{name} v{v} on {table.Source}: {result.Rows} rows scored through the streaming pipeline");
                foreach (var (metric, value) in result.Metrics.Values)
                    output.WriteLine($"  {metric,-10} {value.ToString("F4", CultureInfo.InvariantCulture)}");
                return 0;
            }
            catch (StreamMlException e)
            {
                parse.InvocationConfiguration.Error.WriteLine($"error: {e.Message}");
                return 1;
            }
        });
        return command;
    }

    /// <summary>Metrics of a registered model on a table whose target column is the one the model was trained on.</summary>
    internal static async Task<(int Rows, EvaluationMetrics Metrics, StreamingEvaluator.Result Result)> EvaluateAsync(
        RegisteredModel model, DataTable table, CancellationToken cancellationToken)
    {
        var manifest = model.Version.Manifest;
        var target = table.Require(manifest.Target, "target");
        var schema = JsonDocument.Parse(File.ReadAllBytes(model.Version.PathOf(ModelPackage.SchemaFile))).RootElement;
        string[]? classes = schema.TryGetProperty("classes", out var c) && c.ValueKind == JsonValueKind.Array
            ? c.EnumerateArray().Select(e => e.GetString()!).ToArray()
            : null;
        var rows = new List<int>();
        var labels = new List<float>();
        for (var r = 0; r < table.Rows; r++)
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
            rows.Add(r);
        }
        if (rows.Count == 0) throw new StreamMlException($"{table.Source}: no row has a value for target '{target.Name}'");
        var result = await StreamingEvaluator.RunAsync(model, table, rows, cancellationToken);
        var metrics = StreamingEvaluator.Metrics(model.Task, [.. labels], result, model.Threshold, classes?.Length ?? 1);
        return (rows.Count, metrics, result);
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
            + (report.Task == LearningTask.Binary ? "  (cv at threshold 0.5; held-out and train at the chosen threshold)" : ""));
        foreach (var (metric, summary) in cv.Validation)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{metric,-10} {summary.Mean,8:F4} ± {summary.StdDev,-9:F4} {report.HeldOut.Values.GetValueOrDefault(metric, double.NaN),-10:F4} {report.Train.Values.GetValueOrDefault(metric, double.NaN),-10:F4}"));
        }
        if (report.Threshold is { } t)
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"threshold {t.Threshold:G4} ({t.Objective}; out-of-fold precision {t.Precision:F3}, recall {t.Recall:F3})"));
        if (report.HeldOut.ConfusionMatrix is { Length: 2 } cm)
            output.WriteLine($"held-out confusion: TN {cm[0][0]} FP {cm[0][1]} FN {cm[1][0]} TP {cm[1][1]}");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ONNX parity (max |ONNX Runtime - ML.NET|): {report.OnnxParity:G3}"));
        foreach (var gate in report.Gates.Results) output.WriteLine($"gate {gate.Gate}: {(gate.Passed ? "pass" : "FAIL")} - {gate.Message}");
        output.WriteLine($"registered {report.Name} v{report.Version.Version} ({report.Version.Stage.ToString().ToLowerInvariant()}) at {report.Version.Folder}");
        output.WriteLine("timings (s): " + string.Join(", ", report.Timings.Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key} {kv.Value:F2}"))));
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

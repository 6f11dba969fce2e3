using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using StreamMl.Connectors.Files;
using StreamMl.Connectors.Parquet;
using StreamMl.Engine;
using StreamMl.Operators.Validation;

namespace StreamMl.Host.Files;

/// <summary><c>streamml ingest INPUT... --output DIR</c>: CSV, JSON Lines or Parquet files → validation and cleansing →
/// Parquet (or a train/test split), with dead letters, a data-quality report and progress.</summary>
public static class IngestCommand
{
    /// <summary>How often a watching ingest publishes its open Parquet files (and so commits what they hold) unless
    /// <c>--publish-seconds</c> says otherwise: rows appended to a followed file reach a published file within about this
    /// long, and a kill costs no more than this much work (it is read again from the checkpoint). Publication happens at
    /// the pipeline's flush, between batches, so a published file always ends where a commit ends; a time roll
    /// (<c>--roll-seconds</c>) can cut a file inside a batch, which left the checkpoint behind the published files.</summary>
    public const double WatchPublishSeconds = 10;

    /// <summary>The <c>ingest</c> command, to add to the root command.</summary>
    public static Command Create()
    {
        var inputs = new Argument<string[]>("input") { Description = "Files, folders or globs (data/*.csv, logs/**/*.jsonl.gz); gzip is detected", Arity = ArgumentArity.OneOrMore };
        var outputDir = new Option<string>("--output", "-o") { Description = "Output folder for Parquet, dead letters and the report", Required = true };
        var format = new Option<string>("--format") { Description = "auto, csv, jsonl or parquet", DefaultValueFactory = _ => "auto" };
        var schema = new Option<string?>("--schema") { Description = "Declared schema, e.g. 'id:int64!,price:float64,city:string' (default: inferred and printed)" };
        var inferOnly = new Option<bool>("--infer-only") { Description = "Print the inferred schema and stop" };
        var sample = new Option<int>("--sample") { Description = "Rows sampled to infer the schema", DefaultValueFactory = _ => 10_000 };
        var trim = new Option<bool>("--trim") { Description = "Remove spaces around every string value (default: text is kept exactly as in the file)" };
        var inferThreshold = new Option<double>("--infer-threshold")
        {
            Description = "Share of sampled values (0.5..1) that must be numbers, booleans or dates for inference to choose that type; the rest are listed and dead-lettered",
            DefaultValueFactory = _ => 0.99,
        };
        var delimiter = new Option<string?>("--delimiter") { Description = "CSV separator (default: detected)" };
        var csvThreads = new Option<int?>("--csv-threads") { Description = "Threads parsing a plain CSV file of 4 MiB or more (default 2 on 4 or more cores, else 1: parsed on the reading thread)" };
        var nullTokens = new Option<string[]>("--null-token") { Description = "Extra text read as null (repeatable)", AllowMultipleArgumentsPerToken = true };
        var jsonPath = new Option<string[]>("--json-path") { Description = "column=dotted.path for JSON Lines (repeatable)", AllowMultipleArgumentsPerToken = true };
        var eventTime = new Option<string?>("--event-time") { Description = "Timestamp column giving each row's event time" };
        var watch = new Option<bool>("--watch") { Description = "Keep watching the input folders for new files (stop with Ctrl+C)" };
        var checkpoint = new Option<string?>("--checkpoint") { Description = "Checkpoint file (JSON) of committed input positions: a rerun skips finished files and resumes part-read ones after their last committed row" };
        var required = new Option<string[]>("--required") { Description = "Column that must have a value (repeatable)", AllowMultipleArgumentsPerToken = true };
        var range = new Option<string[]>("--range") { Description = "col:min:max[:reject|filter|null|clip] (repeatable)", AllowMultipleArgumentsPerToken = true };
        var clip = new Option<string[]>("--clip") { Description = "col:min:max, clip outliers to the bounds (repeatable)", AllowMultipleArgumentsPerToken = true };
        var allowed = new Option<string[]>("--allowed") { Description = "col:a|b|c[:reject|filter|null] (repeatable)", AllowMultipleArgumentsPerToken = true };
        var pattern = new Option<string[]>("--pattern") { Description = "col:regex (repeatable)", AllowMultipleArgumentsPerToken = true };
        var dedupe = new Option<string[]>("--dedupe") { Description = "col[:windowRows] rejects repeated keys (repeatable)", AllowMultipleArgumentsPerToken = true };
        var coerce = new Option<string[]>("--coerce") { Description = "col:type[:target] parses a string column into a typed one (repeatable)", AllowMultipleArgumentsPerToken = true };
        var impute = new Option<string[]>("--impute") { Description = "col:mean|median|most-frequent|constant[:value] (repeatable)", AllowMultipleArgumentsPerToken = true };
        var dropMissing = new Option<double?>("--drop-missing-above") { Description = "Drop columns whose missing ratio is above this (0..1)" };
        var rowGroup = new Option<int>("--row-group") { Description = "Rows per Parquet row group", DefaultValueFactory = _ => ParquetSinkOptions.DefaultRowGroupRows };
        var compression = new Option<string>("--compression") { Description = "snappy (default), zstd, gzip (fastest level), lz4 or none", DefaultValueFactory = _ => "snappy" };
        var rollRows = new Option<long>("--roll-rows") { Description = "Start a new file after this many rows (0: no limit)" };
        var rollBytes = new Option<long>("--roll-mb") { Description = "Start a new file after this many MiB (0: no limit)", DefaultValueFactory = _ => 512 };
        var rollSeconds = new Option<double>("--roll-seconds") { Description = "Start a new file after this many seconds (0: no limit)" };
        var publishSeconds = new Option<double?>("--publish-seconds") { Description = $"Publish the open Parquet files (and commit their rows to the checkpoint) this often; default {WatchPublishSeconds} with --watch, otherwise only when a file rolls and at the end" };
        var partitionBy = new Option<string?>("--partition-by") { Description = "Hive partition folders by this column" };
        var partitionDate = new Option<bool>("--partition-by-date") { Description = "Hive partition folders by event date (date=YYYY-MM-DD)" };
        var deadLetters = new Option<string?>("--dead-letters") { Description = "Dead-letter file (.jsonl or .parquet); default OUTPUT/dead-letters.jsonl" };
        var report = new Option<string?>("--report") { Description = "Data-quality report file; default OUTPUT/quality-report.json" };
        var splitTest = new Option<double?>("--split-test") { Description = "Write train/ and test/ with this test fraction" };
        var stratify = new Option<string?>("--stratify") { Description = "Stratify the split by this column" };
        var seed = new Option<int>("--seed") { Description = "Split seed", DefaultValueFactory = _ => 42 };
        var plain = new Option<bool>("--plain") { Description = "Plain log lines instead of a live progress display" };
        var sourceFile = new Option<string?>("--source-file-column") { Description = "Add a string column of this name with the path of the file each row came from" };

        var command = new Command("ingest", "Read CSV / JSON Lines / Parquet files, validate and clean them, and write Parquet with dead letters and a data-quality report")
        {
            inputs, outputDir, format, schema, inferOnly, sample, inferThreshold, trim, delimiter, nullTokens, jsonPath, eventTime, watch, checkpoint,
            required, range, clip, allowed, pattern, dedupe, coerce, impute, dropMissing,
            rowGroup, compression, rollRows, rollBytes, rollSeconds, publishSeconds, partitionBy, partitionDate, deadLetters, report,
            splitTest, stratify, seed, plain, sourceFile, csvThreads,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            try
            {
                if (parse.GetValue(inferThreshold) is not (>= 0.5 and <= 1))
                    throw new StreamMlException($"--infer-threshold must be between 0.5 and 1, got {parse.GetValue(inferThreshold)}");
                var source = new FileSourceOptions
                {
                    Format = ParseFormat(parse.GetValue(format)!),
                    Schema = parse.GetValue(schema) is { } declared ? ParseSchema(declared) : null,
                    InferenceSampleRows = parse.GetValue(sample),
                    InferenceThreshold = parse.GetValue(inferThreshold),
                    Trim = parse.GetValue(trim),
                    CsvParseThreads = parse.GetValue(csvThreads) ?? FileSourceOptions.DefaultCsvParseThreads,
                    Delimiter = parse.GetValue(delimiter) is { Length: > 0 } d ? (d == "\\t" ? '\t' : d[0]) : null,
                    EventTimeColumn = parse.GetValue(eventTime),
                    Watch = parse.GetValue(watch),
                    CheckpointPath = parse.GetValue(checkpoint),
                    SourceFileColumn = parse.GetValue(sourceFile),
                };
                foreach (var input in parse.GetValue(inputs)!) source.Paths.Add(input);
                foreach (var token in parse.GetValue(nullTokens) ?? []) source.NullTokens.Add(token);
                foreach (var mapping in parse.GetValue(jsonPath) ?? [])
                {
                    var eq = mapping.IndexOf('=');
                    if (eq <= 0) throw new StreamMlException($"--json-path '{mapping}' is not column=path");
                    source.JsonPaths[mapping[..eq]] = mapping[(eq + 1)..];
                }
                if (parse.GetValue(inferOnly))
                {
                    var inferred = FileSource.Create(source);
                    output.WriteLine(inferred.Inference?.ToString().TrimEnd() ?? "schema declared: " + SchemaText.Format(inferred.Schema));
                    output.WriteLine("declaration: " + SchemaText.Format(inferred.Schema));
                    return 0;
                }
                var publishEvery = parse.GetValue(publishSeconds) is { } every ? (every > 0 ? every : throw new StreamMlException($"--publish-seconds {every} must be above 0"))
                    : parse.GetValue(watch) ? WatchPublishSeconds : (double?)null;
                var options = new FileJobOptions
                {
                    FlushInterval = publishEvery is { } seconds ? TimeSpan.FromSeconds(seconds) : TimeSpan.FromSeconds(1),
                    Source = source,
                    Parquet = new ParquetSinkOptions
                    {
                        Directory = parse.GetValue(outputDir)!,
                        RowGroupRows = parse.GetValue(rowGroup),
                        Compression = Enum.Parse<ParquetCompression>(parse.GetValue(compression)!, ignoreCase: true),
                        RollRows = parse.GetValue(rollRows),
                        RollBytes = parse.GetValue(rollBytes) << 20,
                        RollInterval = TimeSpan.FromSeconds(parse.GetValue(rollSeconds)),
                        PublishOnFlush = publishEvery is not null,
                        PartitionBy = parse.GetValue(partitionBy),
                        PartitionByEventDate = parse.GetValue(partitionDate),
                    },
                    DropMissingAbove = parse.GetValue(dropMissing),
                    DeadLetters = parse.GetValue(deadLetters),
                    Report = parse.GetValue(report),
                    SplitTestFraction = parse.GetValue(splitTest),
                    StratifyBy = parse.GetValue(stratify),
                    Seed = parse.GetValue(seed),
                };
                AddRules(options, parse.GetValue(required), parse.GetValue(range), parse.GetValue(clip), parse.GetValue(allowed),
                    parse.GetValue(pattern), parse.GetValue(dedupe), parse.GetValue(coerce), parse.GetValue(impute));

                var live = !parse.GetValue(plain) && ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected
                    && AnsiConsole.Profile.Capabilities.Interactive && Environment.GetEnvironmentVariable("CI") is null;
                FileJobResult result;
                if (live)
                {
                    result = null!;
                    await AnsiConsole.Progress().AutoClear(false)
                        .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
                        .StartAsync(async context => result = await FileJob.RunAsync(options, new SpectreObserver(context), cancellationToken));
                }
                else
                {
                    result = await FileJob.RunAsync(options, new PlainObserver(output), cancellationToken);
                }
                WriteSummary(output, result);
                if (!result.Reconciles)
                {
                    error.WriteLine("error: counts do not reconcile (read != written + already in the output + dead-lettered + filtered)");
                    return 1;
                }
                return cancellationToken.IsCancellationRequested ? 130 : 0;
            }
            catch (StreamMlException ex)
            {
                error.WriteLine($"error: {ex.Message}");
                return ex is BadInputException ? 6 : 1;
            }
        });
        return command;
    }

    /// <summary>Parses <c>--schema</c>; an empty declaration is a usage error, not an empty schema.</summary>
    private static Schema ParseSchema(string text)
    {
        var parsed = string.IsNullOrWhiteSpace(text) ? null : SchemaText.Parse(text);
        return parsed is { Count: > 0 } ? parsed
            : throw new StreamMlException($"--schema '{text}' declares no column: give name:type pairs such as 'id:int64!,price:float64,city:string', or leave --schema out to infer the schema");
    }

    private static FileFormat ParseFormat(string text) => text.ToLowerInvariant() switch
    {
        "auto" => FileFormat.Auto,
        "csv" or "tsv" => FileFormat.Csv,
        "jsonl" or "ndjson" or "json" => FileFormat.JsonLines,
        "parquet" => FileFormat.Parquet,
        _ => throw new StreamMlException($"--format '{text}' is not one of auto, csv, jsonl, parquet"),
    };

    private static RuleAction ParseAction(string? text, RuleAction fallback) => text is null ? fallback : text.ToLowerInvariant() switch
    {
        "reject" => RuleAction.Reject,
        "filter" or "drop" => RuleAction.Filter,
        "null" => RuleAction.Null,
        "clip" => RuleAction.Clip,
        _ => throw new StreamMlException($"'{text}' is not an action: use reject, filter, null or clip"),
    };

    private static double Number(string text, string option) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value
            : throw new StreamMlException($"{option}: '{text}' is not a number");

    /// <summary>Turns the rule options into rule factories (imputers are fitted once the profile exists).</summary>
    internal static void AddRules(FileJobOptions options, string[]? required, string[]? range, string[]? clip, string[]? allowed,
        string[]? pattern, string[]? dedupe, string[]? coerce, string[]? impute)
    {
        foreach (var column in required ?? []) options.Rules.Add(_ => new RequiredRule(column));
        foreach (var spec in coerce ?? [])
        {
            var parts = spec.Split(':');
            if (parts.Length < 2) throw new StreamMlException($"--coerce '{spec}' is not col:type[:target]");
            var type = ColumnTypes.Parse(parts[1]);
            var target = parts.Length > 2 ? parts[2] : parts[0] + "_" + ColumnTypes.Name(type);
            options.Rules.Add(_ => new CoerceRule(parts[0], target, type));
        }
        foreach (var spec in range ?? [])
        {
            var parts = spec.Split(':');
            if (parts.Length is < 3 or > 4) throw new StreamMlException($"--range '{spec}' is not col:min:max[:action]");
            var (min, max) = (Number(parts[1], "--range"), Number(parts[2], "--range"));
            var action = ParseAction(parts.Length > 3 ? parts[3] : null, RuleAction.Reject);
            options.Rules.Add(_ => new RangeRule(parts[0], min, max, action));
        }
        foreach (var spec in clip ?? [])
        {
            var parts = spec.Split(':');
            if (parts.Length != 3) throw new StreamMlException($"--clip '{spec}' is not col:min:max");
            var (min, max) = (Number(parts[1], "--clip"), Number(parts[2], "--clip"));
            options.Rules.Add(_ => new RangeRule(parts[0], min, max, RuleAction.Clip));
        }
        foreach (var spec in allowed ?? [])
        {
            var parts = spec.Split(':');
            if (parts.Length is < 2 or > 3) throw new StreamMlException($"--allowed '{spec}' is not col:a|b|c[:action]");
            var action = ParseAction(parts.Length > 2 ? parts[2] : null, RuleAction.Reject);
            options.Rules.Add(_ => new AllowedValuesRule(parts[0], parts[1].Split('|'), action));
        }
        foreach (var spec in pattern ?? [])
        {
            var colon = spec.IndexOf(':');
            if (colon <= 0) throw new StreamMlException($"--pattern '{spec}' is not col:regex");
            options.Rules.Add(_ => new PatternRule(spec[..colon], spec[(colon + 1)..]));
        }
        foreach (var spec in dedupe ?? [])
        {
            var parts = spec.Split(':');
            var window = parts.Length > 1 ? (int)Number(parts[1], "--dedupe") : 100_000;
            options.Rules.Add(_ => new DuplicateKeyRule(parts[0], window));
        }
        foreach (var spec in impute ?? [])
        {
            var parts = spec.Split(':', 3);
            if (parts.Length < 2) throw new StreamMlException($"--impute '{spec}' is not col:strategy[:value]");
            var strategy = parts[1].ToLowerInvariant() switch
            {
                "mean" => ImputeStrategy.Mean,
                "median" => ImputeStrategy.Median,
                "most-frequent" or "mode" => ImputeStrategy.MostFrequent,
                "constant" => ImputeStrategy.Constant,
                _ => throw new StreamMlException($"--impute '{spec}': strategy must be mean, median, most-frequent or constant"),
            };
            if (strategy == ImputeStrategy.Constant)
            {
                if (parts.Length < 3) throw new StreamMlException($"--impute '{spec}': a constant needs a value (col:constant:value)");
                var text = parts[2];
                var number = double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) ? n : 0;
                options.Rules.Add(_ => new ImputeRule(parts[0], strategy, number, text));
            }
            else
            {
                options.RulesNeedProfile = true;
                options.Rules.Add(profile => ImputeRule.Fit(parts[0], strategy, profile!));
            }
        }
    }

    private static void WriteSummary(TextWriter output, FileJobResult r)
    {
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"read {r.RowsRead:N0} rows from {r.Files} file(s) in {r.Elapsed.TotalSeconds:F2} s ({r.RowsPerSecond:N0} rows/s)"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"written {r.RowsWritten:N0}, {(r.RowsAlreadyWritten > 0 ? $"already in the output {r.RowsAlreadyWritten:N0}, " : "")}dead-lettered {r.RowsDeadLettered:N0}, filtered {r.RowsFiltered:N0}: {(r.Reconciles ? "counts reconcile" : "COUNTS DO NOT RECONCILE")}"));
        if (r.FilesFailed > 0) output.WriteLine($"{r.FilesFailed} file(s) failed part way or entirely; see the dead letters");
        foreach (var column in r.DroppedColumns) output.WriteLine($"dropped column {column}");
        output.WriteLine($"parquet files: {r.OutputFiles.Count}");
        output.WriteLine($"dead letters: {r.DeadLetterPath}");
        output.WriteLine($"quality report: {r.ReportPath}");
    }

    private sealed class PlainObserver(TextWriter output) : IFileJobObserver
    {
        private TimeSpan? _last;

        public void Message(string text) => output.WriteLine($"[ingest] {text}");

        public void Progress(FileJobProgress p)
        {
            // One line every 2 seconds at most keeps logs readable.
            if (_last is { } last && p.Elapsed - last < TimeSpan.FromSeconds(2)) return;
            _last = p.Elapsed;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"[ingest] files {p.FilesDone}/{p.FilesKnown}, rows read {p.RowsRead:N0} ({p.RowsPerSecond:N0} rows/s), written {p.RowsWritten:N0}, rejected {p.RowsRejected:N0}"));
        }
    }

    private sealed class SpectreObserver(ProgressContext context) : IFileJobObserver
    {
        private ProgressTask? _files;

        public void Message(string text) => AnsiConsole.MarkupLine($"[grey]{Markup.Escape(text)}[/]");

        public void Progress(FileJobProgress p)
        {
            _files ??= context.AddTask("files", maxValue: Math.Max(1, p.FilesKnown));
            _files.MaxValue = Math.Max(1, p.FilesKnown);
            _files.Value = p.FilesDone;
            _files.Description = string.Create(CultureInfo.InvariantCulture,
                $"files {p.FilesDone}/{p.FilesKnown}  rows {p.RowsRead:N0}  {p.RowsPerSecond:N0} rows/s  rejected {p.RowsRejected:N0}");
            context.Refresh();
        }
    }
}

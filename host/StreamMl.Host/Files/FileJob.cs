using System.Diagnostics;
using Microsoft.Extensions.Logging;
using StreamMl.Connectors.DeadLetters;
using StreamMl.Connectors.Files;
using StreamMl.Connectors.Parquet;
using StreamMl.Connectors.Split;
using StreamMl.Engine;
using StreamMl.Operators.Validation;

namespace StreamMl.Host.Files;

/// <summary>Progress of a running file job, sampled twice a second.</summary>
/// <param name="FilesDone">Files read to the end.</param>
/// <param name="FilesKnown">Files known (grows while watching).</param>
/// <param name="RowsRead">Records read (including those dead-lettered by the source).</param>
/// <param name="RowsWritten">Rows written to Parquet.</param>
/// <param name="RowsRejected">Rows sent to the dead-letter file.</param>
/// <param name="RowsPerSecond">Records read per second since the start.</param>
/// <param name="Elapsed">Time since the start.</param>
internal readonly record struct FileJobProgress(long FilesDone, long FilesKnown, long RowsRead, long RowsWritten, long RowsRejected, double RowsPerSecond, TimeSpan Elapsed);

/// <summary>Receives a file job's progress.</summary>
internal interface IFileJobObserver
{
    void Message(string text);

    void Progress(FileJobProgress progress);
}

/// <summary>What a file job did. <see cref="Reconciles"/> checks that every record read is accounted for.</summary>
internal sealed record FileJobResult(
    long RowsRead, long RowsWritten, long RowsDeadLettered, long RowsFiltered, long Files, long FilesFailed, TimeSpan Elapsed,
    string DeadLetterPath, string ReportPath, IReadOnlyList<string> OutputFiles, IReadOnlyList<string> DroppedColumns, DataQualityReport Report)
{
    /// <summary>Rows a restart read again that were already in a published file of the output (skipped, not written twice).</summary>
    public long RowsAlreadyWritten { get; init; }

    /// <summary>Rows read = rows written + rows already in the output + rows dead-lettered + rows filtered by an explicit
    /// rule. Nothing published is ever deleted, so rows written by an earlier run stay in the output.</summary>
    public bool Reconciles => RowsRead == RowsWritten + RowsAlreadyWritten + RowsDeadLettered + RowsFiltered;

    public double RowsPerSecond => RowsRead / Math.Max(Elapsed.TotalSeconds, 1e-9);
}

/// <summary>Runs source → validation → Parquet sink (or train/test split) with a dead-letter file and a data-quality
/// report. A profiling pass runs first when a rule needs fitted statistics or columns are dropped by missing ratio.</summary>
internal static class FileJob
{
    public static async Task<FileJobResult> RunAsync(FileJobOptions options, IFileJobObserver observer, CancellationToken cancellationToken = default)
    {
        var output = options.Parquet.Directory;
        if (string.IsNullOrWhiteSpace(output)) throw new StreamMlException("an output folder is required (--output)");
        Directory.CreateDirectory(output);
        using var logs = LoggerFactory.Create(builder => builder.AddProvider(new ObserverLogProvider(observer)));
        options.Source.LoggerFactory ??= logs;
        var source = FileSource.Create(options.Source);
        if (source.Inference is { } inference) observer.Message(inference.ToString().TrimEnd());
        observer.Message($"reading {source.Files.Count} file(s){(options.Source.Watch ? " and watching for more" : "")}");

        DataProfile? profile = null;
        var dropped = new List<string>();
        if (options.RulesNeedProfile || options.DropMissingAbove is not null)
        {
            profile = await ProfileAsync(options, source.Schema, cancellationToken).ConfigureAwait(false);
            observer.Message($"profiled {profile.Rows:N0} rows for fitted rules and missing ratios");
            if (options.DropMissingAbove is { } threshold)
            {
                dropped.AddRange(profile.ColumnsMissingMoreThan(threshold));
                foreach (var column in dropped)
                {
                    options.Parquet.ExcludeColumns.Add(column);
                    observer.Message($"dropping column '{column}': {profile.Column(column).MissingRatio:P1} missing is above {threshold:P1}");
                }
            }
        }
        var validator = new Validator(options.Rules.Select(build => build(profile)));
        foreach (var column in dropped) validator.DroppedColumns.Add(column);

        var deadPath = Path.GetFullPath(options.DeadLetters ?? Path.Combine(output, "dead-letters.jsonl"));
        var reportPath = Path.GetFullPath(options.Report ?? Path.Combine(output, "quality-report.json"));
        IDeadLetterSink dead = deadPath.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase)
            ? new ParquetDeadLetterSink(deadPath) : new JsonLinesDeadLetterSink(deadPath);
        var started = Stopwatch.GetTimestamp();
        ParquetSink? parquet = null;
        TrainTestSplitSink? split = null;
        IBatchSink sink = options.SplitTestFraction is { } fraction
            ? split = new TrainTestSplitSink(new TrainTestSplitOptions
            {
                Directory = output, TestFraction = fraction, StratifyBy = options.StratifyBy, Seed = options.Seed, Parquet = options.Parquet,
            })
            : parquet = new ParquetSink(options.Parquet);
        try
        {
            var pipelineOptions = new PipelineOptions
            {
                Name = "ingest", DeadLetters = dead, BatchCapacity = options.BatchCapacity, FlushInterval = options.FlushInterval,
            };
            await using (var pipeline = Pipeline.From(source, pipelineOptions).Then(validator).To(sink).Build())
            {
                await pipeline.StartAsync(cancellationToken).ConfigureAwait(false);
                using var stop = cancellationToken.Register(() => _ = pipeline.StopAsync(CancellationToken.None));
                while (!pipeline.Completion.IsCompleted)
                {
                    await Task.WhenAny(pipeline.Completion, Task.Delay(500, CancellationToken.None)).ConfigureAwait(false);
                    observer.Progress(Sample(source, parquet, split, dead, started));
                }
                await pipeline.Completion.ConfigureAwait(false);
            }
        }
        finally
        {
            (dead as IDisposable)?.Dispose();
        }
        var elapsed = Stopwatch.GetElapsedTime(started);
        observer.Progress(Sample(source, parquet, split, dead, started));
        foreach (var change in source.SchemaChanges) observer.Message("warning: " + change);
        var report = validator.Report();
        await File.WriteAllTextAsync(reportPath, report.ToJson(), CancellationToken.None).ConfigureAwait(false);
        var written = parquet?.RowsWritten ?? split!.TrainRows + split.TestRows;
        var files = parquet?.PublishedFiles.ToList() ?? split!.PublishedFiles.ToList();
        return new FileJobResult(source.RecordsRead, written, dead.Count, validator.RowsFiltered, source.FilesDone, source.FilesFailed, elapsed,
            deadPath, reportPath, files, dropped, report) { RowsAlreadyWritten = parquet?.RowsAlreadyWritten ?? split!.RowsAlreadyWritten };
    }

    private static FileJobProgress Sample(FileSource source, ParquetSink? parquet, TrainTestSplitSink? split, IDeadLetterSink dead, long started)
    {
        var elapsed = Stopwatch.GetElapsedTime(started);
        var read = source.RecordsRead;
        return new FileJobProgress(source.FilesDone, source.Files.Count, read,
            parquet?.RowsWritten ?? (split!.TrainRows + split.TestRows), dead.Count, read / Math.Max(elapsed.TotalSeconds, 1e-9), elapsed);
    }

    /// <summary>Reads the input once through a profiler. Records that cannot be read are not counted here (the real
    /// pass dead-letters them).</summary>
    private static async Task<DataProfile> ProfileAsync(FileJobOptions options, Schema schema, CancellationToken cancellationToken)
    {
        var profileSource = new FileSourceOptions
        {
            Schema = schema, Format = options.Source.Format, Delimiter = options.Source.Delimiter, Name = "profile",
            EventTimeColumn = options.Source.EventTimeColumn,
        };
        foreach (var path in options.Source.Paths) profileSource.Paths.Add(path);
        foreach (var (k, v) in options.Source.JsonPaths) profileSource.JsonPaths[k] = v;
        profileSource.NullTokens.Clear();
        foreach (var token in options.Source.NullTokens) profileSource.NullTokens.Add(token);
        var profiler = new ProfilingOperator();
        await using (var pipeline = Pipeline.From(FileSource.Create(profileSource), new PipelineOptions { Name = "profile" }).Then(profiler).Build())
            await pipeline.RunAsync(cancellationToken).ConfigureAwait(false);
        return profiler.Profile!;
    }
}

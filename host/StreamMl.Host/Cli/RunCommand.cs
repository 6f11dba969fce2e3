using System.CommandLine;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Spectre.Console;
using StreamMl.Host.Models;
using StreamMl.Host.Pipelines;
using StreamMl.Host.Specs;

namespace StreamMl.Host.Cli;

/// <summary><c>streamml run SPEC</c>: runs one pipeline in this process until its source is exhausted (or Ctrl+C, or
/// --duration), showing live counters on a terminal and a plain line per interval otherwise.</summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var spec = new Argument<FileInfo>("spec") { Description = "Pipeline spec file (YAML or JSON)" };
        var duration = new Option<TimeSpan?>("--duration") { Description = "Stop (with a drain) after this long, e.g. 00:00:30" };
        var plain = new Option<bool>("--plain") { Description = "Plain progress lines even on a terminal" };
        var interval = new Option<TimeSpan>("--interval") { Description = "Progress interval", DefaultValueFactory = _ => TimeSpan.FromSeconds(1) };
        var registry = new Option<string>("--registry") { Description = "Model registry folder", DefaultValueFactory = _ => "models" };
        var logLevel = new Option<LogLevel>("--log-level")
        {
            Description = "Connector log lines written to standard error at or above this level (Debug, Information, Warning, Error, None)",
            DefaultValueFactory = _ => LogLevel.Information,
        };
        var budget = new Option<string?>("--memory-budget")
        {
            Description = $"Memory the pipeline's ring may take (8GiB, 512MB, 25%); default {Hosting.MemoryBudget.EnvironmentVariable}, else half the available memory",
        };
        var report = new Option<FileInfo?>("--report")
        {
            Description = "At the end, write the pipeline's monitoring report to this HTML file, and its JSON beside it (same name, .json)",
        };
        var command = new Command("run", "Run a pipeline from a spec in this process, with live counters") { spec, duration, plain, interval, registry, logLevel, budget, report };
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(spec)!, parse.GetValue(duration), parse.GetValue(plain), parse.GetValue(interval),
            parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, ct, parse.GetValue(registry)!, parse.GetValue(logLevel),
            parse.GetValue(budget), parse.GetValue(report)));
        return command;
    }

    public static async Task<int> RunAsync(FileInfo file, TimeSpan? duration, bool plain, TimeSpan interval, TextWriter output, TextWriter error,
        CancellationToken cancellationToken, string registry = "models", LogLevel logLevel = LogLevel.Information, string? memoryBudget = null,
        FileInfo? report = null)
    {
        // Read as serve and validate read it; the manager refuses a ring over it before anything is allocated.
        if (!Hosting.MemoryBudget.TryResolve(memoryBudget, error, out var budget)) return ExitCodes.Usage;
        if (!file.Exists)
        {
            error.WriteLine($"error: spec file '{file.FullName}' does not exist");
            return ExitCodes.NotFound;
        }
        var catalog = new ModelCatalog();
        RegistryModels.Attach(catalog, registry);
        var components = ComponentRegistry.CreateDefault();
        components.ConnectorLoggers = new TextWriterLoggerFactory(error, logLevel);
        await using var manager = new PipelineManager(components, catalog, NullLogger<PipelineManager>.Instance, memoryBudget: budget);
        // Alerts are printed as they are raised, one line each with the event time of the row that triggered them.
        var alertLines = new Lock();
        manager.Created += p => p.Runtime.Events.AlertRaised += alert =>
        {
            lock (alertLines) output.WriteLine($"alert {AlertRouting.Describe(alert)}");
        };
        ManagedPipeline pipeline;
        try
        {
            pipeline = await manager.CreateAsync(await File.ReadAllTextAsync(file.FullName, cancellationToken), start: true, replace: false,
                file.DirectoryName, cancellationToken);
        }
        catch (SpecException ex)
        {
            foreach (var e in ex.Errors) error.WriteLine($"{file.FullName}:{e.Line}:{e.Column}: error: {e.Message}");
            return ExitCodes.InvalidSpec;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A source or sink that cannot open (a broker or database that is down) ends the run with its own words.
            error.WriteLine($"error: pipeline in {file.Name} could not start: {ex.Message}");
            return ExitCodes.Failed;
        }
        var run = pipeline.Current!;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (duration is { } d) stop.CancelAfter(d);
        var started = Stopwatch.GetTimestamp();
        var live = !plain && ReferenceEquals(output, Console.Out) && AnsiConsole.Profile.Capabilities.Interactive && !Console.IsOutputRedirected;
        var interrupted = false;
        try
        {
            if (live)
            {
                await AnsiConsole.Live(Table(pipeline, started)).StartAsync(async ctx =>
                {
                    while (!run.Completion.IsCompleted && !stop.IsCancellationRequested)
                    {
                        await Task.WhenAny(run.Completion, Task.Delay(interval, stop.Token)).ContinueWith(_ => { }, TaskScheduler.Default);
                        ctx.UpdateTarget(Table(pipeline, started));
                    }
                });
            }
            else
            {
                while (!run.Completion.IsCompleted && !stop.IsCancellationRequested)
                {
                    await Task.WhenAny(run.Completion, Task.Delay(interval, stop.Token)).ContinueWith(_ => { }, TaskScheduler.Default);
                    output.WriteLine(Line(pipeline, started));
                }
            }
            interrupted = cancellationToken.IsCancellationRequested;
            if (!run.Completion.IsCompleted) await pipeline.StopAsync(CancellationToken.None);
            await run.Completion;
            await pipeline.Ended;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            error.WriteLine($"error: pipeline '{pipeline.Name}' failed: {ex.Message}");
            return ExitCodes.Failed;
        }
        output.WriteLine(Line(pipeline, started));
        foreach (var stage in run.Stages) output.WriteLine($"  {stage}");
        var alerts = pipeline.Runtime.Alerts;
        if (alerts.Published > 0 || alerts.Suppressed > 0)
            output.WriteLine($"  alerts: {alerts.Published:N0} raised, {alerts.Suppressed:N0} suppressed by the cooldown" +
                             (alerts.Dropped > 0 ? $", {alerts.Dropped:N0} rows lost by slow alert sinks" : ""));
        if (pipeline.Runtime.DeadLetters.Count > 0)
            output.WriteLine($"  dead letters: {pipeline.Runtime.DeadLetters.Count}; first: {pipeline.Runtime.DeadLetters.Snapshot()[^1].Message}");
        if (report is not null)
            Reporting.ReportCommand.Write(Reporting.PipelineReport.Build(pipeline), report, new FileInfo(Path.ChangeExtension(report.FullName, ".json")), output);
        return interrupted ? ExitCodes.Interrupted : ExitCodes.Ok;
    }

    private static string Line(ManagedPipeline pipeline, long started)
    {
        var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var stages = pipeline.Current!.Stages;
        var rows = stages[0].RowsOut;
        return $"{pipeline.Name}: {pipeline.State.ToString().ToLowerInvariant()} {elapsed,6:F1}s rows={rows:N0} ({rows / Math.Max(elapsed, 1e-9):N0}/s) " +
               $"written={stages[^1].RowsOut:N0} rejected={stages.Sum(s => s.RowsRejected):N0} in-flight={pipeline.Current.InFlight}";
    }

    private static Spectre.Console.Table Table(ManagedPipeline pipeline, long started)
    {
        var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var table = new Spectre.Console.Table().Title($"{pipeline.Name} — {pipeline.State.ToString().ToLowerInvariant()} — {elapsed:F1}s");
        foreach (var column in new[] { "stage", "kind", "rows in", "rows out", "rows/s", "rejected", "busy ms", "waiting ms" }) table.AddColumn(column);
        foreach (var s in pipeline.Current!.Stages)
            table.AddRow(Markup.Escape(s.Name), s.Kind.ToString().ToLowerInvariant(), $"{s.RowsIn:N0}", $"{s.RowsOut:N0}",
                $"{s.RowsOut / Math.Max(elapsed, 1e-9):N0}", $"{s.RowsRejected:N0}", $"{s.Busy.TotalMilliseconds:N0}", $"{s.Waiting.TotalMilliseconds:N0}");
        return table;
    }
}

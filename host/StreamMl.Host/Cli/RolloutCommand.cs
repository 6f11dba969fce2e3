using System.CommandLine;
using System.Globalization;
using Grpc.Core;
using StreamMl.Host.Protos;

namespace StreamMl.Host.Cli;

/// <summary><c>streamml rollout start|status|cancel --pipeline NAME</c>: progressive rollouts on a running host
/// (Control.StartRollout, GetRollout, CancelRollout); with <c>--registry DIR --model NAME</c> instead, rollouts recorded
/// in a registry folder that the replicas mount, which every replica serving the model follows (no host is called).</summary>
internal static class RolloutCommand
{
    public static Command Create()
    {
        var address = DriftCommand.AddressOption();
        var apiKey = DriftCommand.ApiKeyOption();
        Option<string?> Pipeline() => new("--pipeline") { Description = "Pipeline name (on the host at --address)" };
        Option<string?> Registry() => new("--registry") { Description = "Registry folder the replicas mount: the rollout is recorded there instead of on one host" };
        Option<string?> Model() => new("--model") { Description = "Model name (with --registry)" };

        var pipeline = Pipeline();
        var registry = Registry();
        var model = Model();
        var version = new Option<string>("--version") { Description = "Candidate version", Required = true };
        var steps = new Option<double[]>("--steps")
        {
            Description = "Candidate traffic shares in order, 0 for shadow, each below 1 (default 0 0.05 0.25)", AllowMultipleArgumentsPerToken = true,
        };
        var minRows = new Option<long>("--min-rows") { Description = "Candidate rows per step (default 1000)" };
        var minDuration = new Option<double>("--min-seconds") { Description = "Minimum seconds per step (default 300)" };
        var maxDuration = new Option<double>("--max-seconds") { Description = "A step short of rows or labels after this long rolls back (default 3600)" };
        var minLabels = new Option<long>("--min-labels") { Description = "Labelled rows per model before the label guardrails count; -1: off (default 500)" };
        var maxErrorRate = new Option<double>("--max-error-rate") { Description = "Largest share of candidate rows failing to score (default 0.01)" };
        var maxLatency = new Option<double>("--max-latency-ratio") { Description = "Largest candidate p99 batch latency as a multiple of the champion's (default 2)" };
        var maxPsi = new Option<double>("--max-psi") { Description = "Largest score PSI against the champion (default 0.25)" };
        var maxKs = new Option<double>("--max-ks") { Description = "Largest score KS distance against the champion (default 0.2)" };
        var maxDrop = new Option<double>("--max-metric-drop") { Description = "Largest AUC drop (binary) or relative RMSE increase (default 0.02)" };
        var alpha = new Option<double>("--alpha") { Description = "Significance of the test that the candidate's loss is higher (default 0.01)" };
        var start = new Command("start", "Start rolling a candidate out: shadow, canary steps, promotion; rolled back when a guardrail fails")
        {
            pipeline, registry, model, version, steps, minRows, minDuration, maxDuration, minLabels, maxErrorRate, maxLatency, maxPsi, maxKs, maxDrop, alpha, address, apiKey,
        };
        StartRolloutRequest Request(ParseResult parse)
        {
            var request = new StartRolloutRequest
            {
                Pipeline = parse.GetValue(registry) is null ? RequirePipeline(parse, pipeline) : "",
                Candidate = new ModelRef { Name = parse.GetValue(model) ?? "", Version = parse.GetValue(version)! },
                MinRows = parse.GetValue(minRows),
                MinDurationSeconds = parse.GetValue(minDuration),
                MaxDurationSeconds = parse.GetValue(maxDuration),
                MinLabels = parse.GetValue(minLabels),
                MaxErrorRate = parse.GetValue(maxErrorRate),
                MaxLatencyRatio = parse.GetValue(maxLatency),
                MaxScorePsi = parse.GetValue(maxPsi),
                MaxScoreKs = parse.GetValue(maxKs),
                MaxMetricDrop = parse.GetValue(maxDrop),
                Alpha = parse.GetValue(alpha),
            };
            request.Steps.AddRange(parse.GetValue(steps) ?? []);
            return request;
        }
        start.SetAction((parse, ct) => Guard(parse, () => parse.GetValue(registry) is { } folder
            ? RegistryRolloutCommand.Start(folder, Request(parse), parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error)
            : Call(parse, address, apiKey, client => client.StartRolloutAsync(Request(parse), cancellationToken: ct).ResponseAsync)));

        var statusPipeline = Pipeline();
        var statusRegistry = Registry();
        var statusModel = Model();
        var wait = new Option<double>("--wait") { Description = "With --registry: wait up to this many seconds for the rollout to finish; exit 0 when promoted, 1 when rolled back or cancelled, 4 when still running" };
        var status = new Command("status", "Show a rollout: phase, transitions and guardrails (of a pipeline on a host, or of a model in a registry)")
        {
            statusPipeline, statusRegistry, statusModel, wait, address, apiKey,
        };
        status.SetAction((parse, ct) => Guard(parse, () => parse.GetValue(statusRegistry) is { } folder
            ? RegistryRolloutCommand.Status(folder, parse.GetValue(statusModel), parse.GetValue(wait), parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, ct)
            : Call(parse, address, apiKey,
                client => client.GetRolloutAsync(new PipelineRef { Name = RequirePipeline(parse, statusPipeline) }, cancellationToken: ct).ResponseAsync)));

        var cancelPipeline = Pipeline();
        var cancelRegistry = Registry();
        var cancelModel = Model();
        var cancel = new Command("cancel", "Stop a rollout; the primary model answers everything") { cancelPipeline, cancelRegistry, cancelModel, address, apiKey };
        cancel.SetAction((parse, ct) => Guard(parse, () => parse.GetValue(cancelRegistry) is { } folder
            ? Task.FromResult(RegistryRolloutCommand.Cancel(folder, parse.GetValue(cancelModel), parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error))
            : Call(parse, address, apiKey,
                client => client.CancelRolloutAsync(new PipelineRef { Name = RequirePipeline(parse, cancelPipeline) }, cancellationToken: ct).ResponseAsync)));

        return new Command("rollout", "Progressive model rollouts with guardrails, on a running host or shared by the replicas through the registry")
        {
            start, status, cancel,
        };
    }

    /// <summary>A rollout or registry that cannot be used is one line on stderr and exit 1, not a stack trace.</summary>
    private static async Task<int> Guard(ParseResult parse, Func<Task<int>> action)
    {
        try
        {
            return await action().ConfigureAwait(false);
        }
        catch (Engine.StreamMlException e)
        {
            await parse.InvocationConfiguration.Error.WriteLineAsync(e.Message).ConfigureAwait(false);
            return ExitCodes.Failed;
        }
    }

    private static string RequirePipeline(ParseResult parse, Option<string?> pipeline) =>
        parse.GetValue(pipeline) ?? throw new Engine.StreamMlException("give --pipeline NAME (a rollout on the host at --address) or --registry DIR --model NAME (a rollout shared through a registry)");

    private static async Task<int> Call(ParseResult parse, Option<string> address, Option<string?> apiKey, Func<Control.ControlClient, Task<RolloutStatus>> call)
    {
        var addr = parse.GetValue(address)!;
        try
        {
            using var channel = HostClient.Open(addr, parse.GetValue(apiKey));
            Print(await call(new Control.ControlClient(channel)), parse.InvocationConfiguration.Output);
            return ExitCodes.Ok;
        }
        catch (RpcException ex)
        {
            return HostClient.Report(ex, addr, parse.InvocationConfiguration.Error);
        }
    }

    internal static void Print(RolloutStatus s, TextWriter output)
    {
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"pipeline {s.Pipeline}: {s.Candidate.Name}@{s.Candidate.Version} against {s.Champion.Name}@{s.Champion.Version}: {s.Phase} (step {s.Step + 1}, candidate share {s.Weight * 100:G3}%)"));
        foreach (var e in s.Events)
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {e.At}  {e.Action,-11} {e.Weight * 100,5:G3}%  {e.Reason}"));
        foreach (var c in s.Checks)
            output.WriteLine($"  guardrail {c.Name,-12} {(c.Skipped ? "waiting" : c.Passed ? "pass" : "FAIL"),-7} {c.Message}");
    }
}

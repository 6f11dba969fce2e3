using System.Globalization;
using StreamMl.Host.Models;
using StreamMl.Host.Protos;
using StreamMl.Host.Registry;
using StreamMl.Operators.Rollouts;

namespace StreamMl.Host.Cli;

/// <summary><c>streamml rollout start|status|cancel --registry DIR --model NAME</c>: rollouts recorded in a registry
/// folder (<see cref="RegistryRollouts"/>), which the replicas serving the model follow; the command needs no host.</summary>
internal static class RegistryRolloutCommand
{
    public static Task<int> Start(string folder, StartRolloutRequest request, TextWriter output, TextWriter error)
    {
        var registry = new ModelRegistry(folder);
        var name = request.Candidate.Name;
        if (name.Length == 0) return Fail(error, "give --model NAME: the model whose version is rolled out");
        if (!int.TryParse(request.Candidate.Version, NumberStyles.None, CultureInfo.InvariantCulture, out var version))
            return Fail(error, $"--version '{request.Candidate.Version}' is not a registry version number");
        var production = registry.Stages(name).Production;
        if (production is null)
            return Fail(error, $"model '{name}' has no production version in {registry.Root} to roll version {version} out against; promote the first version (streamml models promote)");
        var catalog = new ModelCatalog();
        RegistryModels.Attach(catalog, registry.Root);
        var candidate = RegistryModels.RequireDeployable(catalog.Require(name, request.Candidate.Version), "rolled out");
        var options = RolloutSettings.FromRequest(request, candidate);
        var shared = RegistryRollouts.Start(registry, name, production.Value, version, options, "cli")!;
        // The start transition is appended here, so the rollout is in the registry history before any replica looks.
        var rollout = new Rollout($"{name}@{production}", candidate.Id, shared.Options, ledger: RegistryRollouts.Ledger(registry, shared, "cli"));
        output.WriteLine($"rollout {shared.Id} of {name} version {version} against {production} recorded in {shared.Folder}; replicas serving {name}@{production} follow it within a second");
        Print(shared, rollout.History, output);
        return Task.FromResult(ExitCodes.Ok);
    }

    public static async Task<int> Status(string folder, string? model, double waitSeconds, TextWriter output, TextWriter error, CancellationToken ct)
    {
        if (model is null) return await Fail(error, "give --model NAME with --registry").ConfigureAwait(false);
        var registry = new ModelRegistry(folder);
        var latest = RegistryRollouts.Latest(registry, model);
        if (latest is null) return await Fail(error, $"model '{model}' has no rollout in {registry.Root}; start one with streamml rollout start --registry").ConfigureAwait(false);
        var deadline = DateTime.UtcNow.AddSeconds(Math.Max(0, waitSeconds));
        var transitions = latest.Transitions();
        while ((transitions.Count == 0 || !transitions[^1].IsFinal) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200, ct).ConfigureAwait(false);
            transitions = latest.Transitions();
        }
        Print(latest, transitions, output);
        if (waitSeconds <= 0) return ExitCodes.Ok;
        return transitions is { Count: > 0 } t && t[^1].IsFinal
            ? t[^1].Phase == RolloutPhase.Promoted ? ExitCodes.Ok : ExitCodes.Failed
            : ExitCodes.Unavailable;
    }

    public static int Cancel(string folder, string? model, TextWriter output, TextWriter error)
    {
        if (model is null) return Fail(error, "give --model NAME with --registry").Result;
        var registry = new ModelRegistry(folder);
        var latest = RegistryRollouts.Latest(registry, model);
        if (latest is null || !latest.IsActive()) return Fail(error, $"model '{model}' has no running rollout in {registry.Root}").Result;
        var rollout = new Rollout($"{model}@{latest.Champion}", $"{model}@{latest.Candidate}", latest.Options,
            ledger: RegistryRollouts.Ledger(registry, latest, "cli"));
        rollout.Cancel("cancelled with streamml rollout cancel");
        Print(latest, rollout.History, output);
        return ExitCodes.Ok;
    }

    internal static void Print(SharedRollout rollout, IReadOnlyList<RolloutTransition> transitions, TextWriter output)
    {
        var current = transitions.Count > 0 ? transitions[^1] : null;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{rollout.Model}@{rollout.Candidate} against {rollout.Model}@{rollout.Champion} (rollout {rollout.Id}, started by {rollout.StartedBy}): {current?.Action ?? "starting"}"));
        var start = transitions.Count > 0 ? transitions[0].At : default;
        foreach (var t in transitions)
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {t.At:O}  +{(t.At - start).TotalSeconds,6:F1} s  {t.Action,-11} {t.Weight * 100,5:G3}%  {t.Reason}"));
        var observations = Path.Combine(rollout.Folder, "observations");
        if (Directory.Exists(observations))
            output.WriteLine("  replicas: " + string.Join(", ", Directory.GetFiles(observations, "*.bin").Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal)));
        foreach (var c in current?.Report?.Checks ?? [])
            output.WriteLine($"  guardrail {c.Name,-12} {(c.Skipped ? "waiting" : c.Passed ? "pass" : "FAIL"),-7} {c.Message}");
    }

    private static Task<int> Fail(TextWriter error, string message)
    {
        error.WriteLine(message);
        return Task.FromResult(ExitCodes.Failed);
    }
}

using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using StreamMl.Operators.Rollouts;

namespace StreamMl.Host.Registry;

/// <summary>Rollouts shared through the registry folder that every replica mounts: <c>MODEL/rollouts/ID/</c> holds
/// <c>rollout.json</c> (who against whom, with which steps and guardrails), <c>transitions/NNNN.json</c> and
/// <c>observations/REPLICA.bin</c>. One rollout per model runs at a time; starting one takes the folder's start lock.</summary>
internal static class RegistryRollouts
{
    private const string RolloutsFolder = "rollouts";
    private const string RolloutFile = "rollout.json";

    private static readonly JsonSerializerOptions s_json = new()
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>This process's name among the replicas: <c>STREAMML_REPLICA</c>, else host name and process id.</summary>
    public static string ReplicaName { get; } = Environment.GetEnvironmentVariable("STREAMML_REPLICA") is { Length: > 0 } name
        ? name
        : $"{Environment.MachineName}-{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Records a new rollout of <paramref name="candidate"/> against <paramref name="champion"/>. Refused while
    /// another rollout of the model runs, unless it is of the same two versions and <paramref name="joinExisting"/>
    /// (a spec's rollout section, which every replica carries) — then that one is returned, as is a finished one of
    /// the same two versions (null then: nothing to start).</summary>
    public static SharedRollout? Start(ModelRegistry registry, string model, int champion, int candidate, RolloutOptions options,
        string startedBy, bool joinExisting = false)
    {
        options.Validate();
        registry.Open(model, candidate);
        registry.RequireNotRetired(model, candidate, "rolled out");
        var folder = FolderOf(registry, model);
        Directory.CreateDirectory(folder);
        ShareLike(Path.Combine(registry.Root, model), folder);
        using var _ = Lock(Path.Combine(folder, ".start.lock"));
        var all = List(registry, model);
        if (all.FirstOrDefault(r => r.IsActive()) is { } running)
        {
            if (joinExisting && running.Champion == champion && running.Candidate == candidate) return running;
            throw new RolloutException($"model '{model}' is already rolling out version {running.Candidate} against {running.Champion} ({running.Folder}); cancel it first (streamml rollout cancel)");
        }
        if (joinExisting && all.Any(r => r.Champion == champion && r.Candidate == candidate)) return null;
        var id = string.Create(CultureInfo.InvariantCulture, $"{DateTime.UtcNow:yyyyMMdd'T'HHmmssfff'Z'}-v{candidate}");
        var rollout = new SharedRollout(id, model, champion, candidate, options, startedBy) { Folder = Path.Combine(folder, id) };
        var staging = Path.Combine(folder, $".{id}.tmp");
        Directory.CreateDirectory(staging);
        foreach (var sub in (string[])[staging, Path.Combine(staging, "transitions"), Path.Combine(staging, "observations")])
        {
            Directory.CreateDirectory(sub);
            ShareLike(Path.Combine(registry.Root, model), sub);
        }
        File.WriteAllBytes(Path.Combine(staging, RolloutFile), JsonSerializer.SerializeToUtf8Bytes(rollout, s_json));
        Directory.Move(staging, rollout.Folder);
        return rollout;
    }

    /// <summary>Every rollout of <paramref name="model"/>, oldest first.</summary>
    public static IReadOnlyList<SharedRollout> List(ModelRegistry registry, string model)
    {
        var folder = FolderOf(registry, model);
        if (!Directory.Exists(folder)) return [];
        var list = new List<SharedRollout>();
        foreach (var dir in Directory.GetDirectories(folder).Order(StringComparer.Ordinal))
        {
            var file = Path.Combine(dir, RolloutFile);
            if (Path.GetFileName(dir).StartsWith('.') || !File.Exists(file)) continue;
            try
            {
                var rollout = JsonSerializer.Deserialize<SharedRollout>(File.ReadAllBytes(file), s_json);
                if (rollout is not null) list.Add(rollout with { Folder = dir });
            }
            catch (JsonException e)
            {
                throw new RegistryException($"{file} is corrupt ({e.Message}); move its folder out of {folder} to forget that rollout");
            }
        }
        return list;
    }

    /// <summary>The newest rollout of <paramref name="model"/>, or null.</summary>
    public static SharedRollout? Latest(ModelRegistry registry, string model) => List(registry, model) is { Count: > 0 } l ? l[^1] : null;

    /// <summary>A ledger on <paramref name="rollout"/>'s folder as replica <paramref name="replica"/>, which records each
    /// transition this replica appends in the model's registry history (<c>rollout-ACTION</c>) and, for a promotion,
    /// promotes the candidate: exactly one replica appends each transition, so each is recorded once.</summary>
    public static IRolloutLedger Ledger(ModelRegistry registry, SharedRollout rollout, string replica) =>
        new RecordingLedger(new FolderRolloutLedger(rollout.Folder, replica, rollout.Options), registry, rollout);

    private static string FolderOf(ModelRegistry registry, string model) => Path.Combine(registry.Root, model, RolloutsFolder);

    /// <summary>Replicas may run as another user than the one who starts a rollout from the command line: the rollout's
    /// folders get the model folder's permissions, so whoever can write the registry can write them.</summary>
    private static void ShareLike(string model, string folder)
    {
        if (OperatingSystem.IsWindows()) return;
        try
        {
            File.SetUnixFileMode(folder, File.GetUnixFileMode(model));
        }
        catch (UnauthorizedAccessException) { }
    }

    private static FileStream Lock(string path)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                if (!OperatingSystem.IsWindows())
                {
                    try { File.SetUnixFileMode(path, (UnixFileMode)0b110_110_110); }
                    catch (UnauthorizedAccessException) { } // another user's lock file, already shared
                }
                return stream;
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(20);
            }
        }
    }

    private sealed class RecordingLedger(FolderRolloutLedger inner, ModelRegistry registry, SharedRollout rollout) : IRolloutLedger
    {
        public IReadOnlyList<RolloutTransition> Read() => inner.Read();

        public bool TryAppend(int index, RolloutTransition transition)
        {
            if (!inner.TryAppend(index, transition)) return false;
            registry.RecordEvent(rollout.Model, "rollout-" + transition.Action, rollout.Candidate, transition.Reason, transition.At);
            if (transition.Phase == RolloutPhase.Promoted) registry.Promote(rollout.Model, rollout.Candidate, "rollout: " + transition.Reason);
            return true;
        }

        public void Publish(int index, RolloutWindow champion, RolloutWindow candidate) => inner.Publish(index, champion, candidate);

        public void Gather(int index, RolloutWindow champion, RolloutWindow candidate) => inner.Gather(index, champion, candidate);
    }
}

using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace StreamMl.Operators.Rollouts;

/// <summary>A rollout ledger in a folder that every replica mounts: <c>transitions/0000.json</c>, <c>0001.json</c>, …
/// and <c>observations/&lt;replica&gt;.bin</c>. Every file is written to a temporary name first and then moved into
/// place, so a reader never sees half a file and a replica that crashes leaves nothing torn. A transition is moved in
/// without overwriting (a hard link on Linux: atomic, fails when the name exists), so when two replicas decide the same
/// step only the first one's decision stands. No lease, no clock shared beyond the transitions' own times: a replica
/// that stops simply stops publishing; what it published still counts.</summary>
public sealed class FolderRolloutLedger : IRolloutLedger
{
    private static readonly JsonSerializerOptions s_json = new()
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter() },
    };

    private readonly string _transitions;
    private readonly string _observations;
    private readonly RolloutOptions _options;
    private readonly List<RolloutTransition> _read = [];

    /// <summary>Opens (creating when missing) the ledger in <paramref name="folder"/> as replica <paramref name="replica"/>
    /// (a name unique among the replicas, e.g. host name and process id).</summary>
    public FolderRolloutLedger(string folder, string replica, RolloutOptions options)
    {
        if (replica.Length == 0 || replica.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || replica.StartsWith('.'))
            throw new RolloutException($"rollout replica name '{replica}' must be a plain file name");
        Folder = Path.GetFullPath(folder);
        Replica = replica;
        _options = options;
        _transitions = Path.Combine(Folder, "transitions");
        _observations = Path.Combine(Folder, "observations");
        Directory.CreateDirectory(_transitions);
        Directory.CreateDirectory(_observations);
    }

    /// <summary>The ledger's folder.</summary>
    public string Folder { get; }

    /// <summary>This replica's name.</summary>
    public string Replica { get; }

    /// <inheritdoc/>
    public IReadOnlyList<RolloutTransition> Read()
    {
        // Transitions never change once written: read only the ones not read before.
        while (true)
        {
            var path = TransitionPath(_read.Count);
            if (!File.Exists(path)) return _read.ToArray();
            _read.Add(ReadTransition(path));
        }
    }

    /// <summary>Reads the transitions of the ledger in <paramref name="folder"/> without opening it as a replica.</summary>
    public static IReadOnlyList<RolloutTransition> ReadTransitions(string folder)
    {
        var list = new List<RolloutTransition>();
        for (var i = 0; ; i++)
        {
            var path = Path.Combine(folder, "transitions", Name(i) + ".json");
            if (!File.Exists(path)) return list;
            list.Add(ReadTransition(path));
        }
    }

    /// <inheritdoc/>
    public bool TryAppend(int index, RolloutTransition transition)
    {
        // The whole transition is written first; creating the numbered name as a link to it is the claim. A symbolic
        // link cannot replace an existing name (symlink(2) fails with EEXIST), so exactly one replica wins each
        // number. File.Move without overwrite is not that: two replicas could both win number 0
        // (FolderRolloutLedgerTests, 2 of 3 runs).
        var content = Path.Combine(_transitions, $"{Name(index)}.{Guid.NewGuid():N}.transition");
        Write(content, JsonSerializer.SerializeToUtf8Bytes(transition, s_json));
        try
        {
            File.CreateSymbolicLink(TransitionPath(index), Path.GetFileName(content));
            return true;
        }
        catch (IOException) when (File.Exists(TransitionPath(index)))
        {
            File.Delete(content);
            return false;
        }
    }

    /// <inheritdoc/>
    public void Publish(int index, RolloutWindow champion, RolloutWindow candidate)
    {
        var temp = TempPath(_observations);
        using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
        using (var writer = new BinaryWriter(stream))
        {
            writer.Write(index);
            champion.WriteTo(writer);
            candidate.WriteTo(writer);
        }
        File.Move(temp, Path.Combine(_observations, Replica + ".bin"), overwrite: true);
    }

    /// <inheritdoc/>
    public void Gather(int index, RolloutWindow champion, RolloutWindow candidate)
    {
        var theirChampion = new RolloutWindow(_options);
        var theirCandidate = new RolloutWindow(_options);
        foreach (var path in Directory.GetFiles(_observations, "*.bin"))
        {
            int at;
            try
            {
                using var reader = new BinaryReader(File.OpenRead(path));
                at = reader.ReadInt32();
                theirChampion.ReadFrom(reader);
                theirCandidate.ReadFrom(reader);
            }
            catch (FileNotFoundException)
            {
                continue;
            }
            if (at == index)
            {
                champion.Merge(theirChampion);
                candidate.Merge(theirCandidate);
            }
            else
            {
                champion.MergeOutcomes(theirChampion);
                candidate.MergeOutcomes(theirCandidate);
            }
        }
    }

    /// <summary>The replicas that have published observations (file names without .bin).</summary>
    public IReadOnlyList<string> Replicas() =>
        Directory.GetFiles(_observations, "*.bin").Select(p => Path.GetFileNameWithoutExtension(p)).Order(StringComparer.Ordinal).ToArray();

    private static RolloutTransition ReadTransition(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<RolloutTransition>(File.ReadAllBytes(path), s_json)
                ?? throw new RolloutException($"rollout transition {path} is empty");
        }
        catch (JsonException e)
        {
            throw new RolloutException($"rollout transition {path} is not readable ({e.Message}); a transition file is written whole, so it was changed by hand");
        }
    }

    private string TransitionPath(int index) => Path.Combine(_transitions, Name(index) + ".json");

    private static string Name(int index) => index.ToString("D4", CultureInfo.InvariantCulture);

    private static string TempPath(string folder) => Path.Combine(folder, $".{Guid.NewGuid():N}.tmp");

    private static void Write(string path, byte[] bytes)
    {
        using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None);
        stream.Write(bytes);
        stream.Flush(flushToDisk: true);
    }
}

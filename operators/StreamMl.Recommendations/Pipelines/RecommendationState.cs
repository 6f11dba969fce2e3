using System.Globalization;
using System.Runtime.InteropServices;
using StreamMl.Engine;
using StreamMl.Recommendations.Serving;

namespace StreamMl.Recommendations.Pipelines;

/// <summary>Everything a recommending pipeline keeps: the models, the interaction operator that feeds them (and its
/// string id maps), the A/B <see cref="RecommendationServer"/> with its online metrics, and the checkpoint of all of
/// them. Put it in a pipeline as an operator; serve from <see cref="Recommend(string, int, RecommendRequest?, Span{ScoredItem}, int)"/>
/// or <see cref="Server"/>; write <see cref="WriteCheckpoint(string)"/> when the source is about to commit.</summary>
/// <remarks>Checkpoints are exact with sources whose positions are stable (files, Kafka, PostgreSQL): the checkpoint is
/// taken under the same lock as each batch's update, together with the highest offset per partition the models have
/// learnt from, so a source that commits its positions only after the checkpoint is on disk never loses an event. After
/// a restart the source may replay rows between its last commit and the checkpoint; <see cref="Learn"/> drops those by
/// their offsets, so no event is learnt twice and the feedback join does not count an interaction twice
/// (RecommendationStateTests).</remarks>
public sealed class RecommendationState : IBatchOperator
{
    private const string Magic = "streamml-recommend-checkpoint";
    private const int Version = 2;

    private readonly Lock _gate = new();
    private readonly Dictionary<int, long> _learntUpTo = [];
    private readonly Dictionary<int, long> _restoredUpTo = [];
    private readonly NamedRecommender[] _models;

    /// <summary>Creates the state over <paramref name="models"/> (unique names) serving <paramref name="variants"/> (each
    /// answered by one of the models).</summary>
    public RecommendationState(InteractionColumns columns, IReadOnlyList<NamedRecommender> models,
        IReadOnlyList<RecommendationVariant> variants, ServingOptions? serving = null)
    {
        ArgumentNullException.ThrowIfNull(columns);
        ArgumentNullException.ThrowIfNull(models);
        if (models.Count == 0) throw new ArgumentException("a recommendation state needs at least one model", nameof(models));
        if (models.GroupBy(m => m.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw new ArgumentException($"model '{twice.Key}' is named twice; model names must differ", nameof(models));
        foreach (var variant in variants)
            if (!models.Any(m => ReferenceEquals(m.Recommender, variant.Recommender)))
                throw new ArgumentException($"variant '{variant.Name}' is answered by a model that is not among the state's models", nameof(variants));
        _models = [.. models];
        Server = new RecommendationServer(variants, serving);
        Interactions = new InteractionOperator(columns, [.. _models.Select(m => m.Recommender), Server.FeedbackObserver]);
    }

    /// <inheritdoc/>
    public string Name => "recommend";

    /// <summary>The models, in the order given.</summary>
    public IReadOnlyList<NamedRecommender> Models => _models;

    /// <summary>The A/B server answering from the models.</summary>
    public RecommendationServer Server { get; }

    /// <summary>The operator that reads interactions from batches and feeds the models and the feedback join.</summary>
    public InteractionOperator Interactions { get; }

    /// <summary>Checkpoints written since the state was created.</summary>
    public long Checkpoints { get; private set; }

    /// <summary>Rows skipped after a restore because the restored models had already learnt from them.</summary>
    public long ReplayedRowsSkipped { get; private set; }

    /// <inheritdoc/>
    public Schema Bind(Schema input) => Interactions.Bind(input);

    /// <inheritdoc/>
    public void Process(ColumnBatch batch, StageContext context) => Learn(batch, context, context.Source?.PositionsAreStable == true);

    /// <summary>Feeds a batch to the models. With <paramref name="positionsAreStable"/> the rows' (partition, offset)
    /// positions are remembered for the checkpoint, and rows a restored checkpoint already holds are deselected; the first
    /// batch with none of them ends the replay.</summary>
    public void Learn(ColumnBatch batch, StageContext context, bool positionsAreStable)
    {
        lock (_gate)
        {
            if (positionsAreStable && _restoredUpTo.Count > 0) SkipLearnt(batch);
            Interactions.Process(batch, context);
            if (!positionsAreStable) return;
            var partitions = batch.RowPartitions;
            var offsets = batch.RowOffsets;
            var selection = batch.Selection;
            for (var row = 0; row < batch.Length; row++)
            {
                if (!selection.IsSelected(row)) continue;
                ref var upTo = ref CollectionsMarshal.GetValueRefOrAddDefault(_learntUpTo, partitions[row], out var existed);
                if (!existed || offsets[row] > upTo) upTo = offsets[row];
            }
        }
    }

    private void SkipLearnt(ColumnBatch batch)
    {
        var partitions = batch.RowPartitions;
        var offsets = batch.RowOffsets;
        var skipped = 0;
        for (var row = 0; row < batch.Length; row++)
        {
            if (!batch.Selection.IsSelected(row)) continue;
            if (_restoredUpTo.TryGetValue(partitions[row], out var upTo) && offsets[row] <= upTo)
            {
                batch.Selection.Deselect(row);
                skipped++;
            }
        }
        ReplayedRowsSkipped += skipped;
        if (skipped == 0 && batch.Length > 0) _restoredUpTo.Clear();
    }

    /// <summary>Writes the learnt positions, the id maps, every model and the online metrics to
    /// <paramref name="destination"/>, consistently (no batch is learnt meanwhile).</summary>
    public void WriteCheckpoint(Stream destination)
    {
        using var writer = new BinaryWriter(destination, System.Text.Encoding.UTF8, leaveOpen: true);
        lock (_gate)
        {
            writer.Write(Magic);
            writer.Write(Version);
            writer.Write(_learntUpTo.Count);
            foreach (var (partition, offset) in _learntUpTo)
            {
                writer.Write(partition);
                writer.Write(offset);
            }
            Interactions.UserIds.Snapshot(destination);
            Interactions.ItemIds.Snapshot(destination);
            Interactions.CategoryIds.Snapshot(destination);
            writer.Write(_models.Length);
            foreach (var model in _models) WriteSection(writer, model.Name, model.Recommender.Snapshot);
            WriteSection(writer, "feedback", Server.Snapshot);
            Checkpoints++;
        }
    }

    private static void WriteSection(BinaryWriter writer, string name, Action<Stream> write)
    {
        writer.Write(name);
        using var buffer = new MemoryStream();
        write(buffer);
        writer.Write(buffer.Length);
        writer.Flush();
        buffer.Position = 0;
        buffer.CopyTo(writer.BaseStream);
    }

    /// <summary>Writes the checkpoint to <paramref name="path"/> through a temporary file renamed over it, flushed to
    /// disk first, so a crash at any moment leaves the previous checkpoint whole.</summary>
    public void WriteCheckpoint(string path)
    {
        if (Path.GetDirectoryName(Path.GetFullPath(path)) is { Length: > 0 } folder) Directory.CreateDirectory(folder);
        var temporary = path + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
        {
            WriteCheckpoint(file);
            file.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Replaces all state with a checkpoint written by <see cref="WriteCheckpoint(Stream)"/> of a state with the
    /// same models and variants. Throws <see cref="InvalidDataException"/> saying what does not match.</summary>
    public void RestoreCheckpoint(Stream source)
    {
        using var reader = new BinaryReader(source, System.Text.Encoding.UTF8, leaveOpen: true);
        lock (_gate)
        {
            if (reader.ReadString() != Magic) throw new InvalidDataException("it is not a recommend checkpoint");
            if (reader.ReadInt32() is var version && version != Version) throw new InvalidDataException($"it has version {version}; this build reads {Version}");
            _learntUpTo.Clear();
            _restoredUpTo.Clear();
            var partitions = reader.ReadInt32();
            for (var i = 0; i < partitions; i++)
            {
                var partition = reader.ReadInt32();
                var offset = reader.ReadInt64();
                _learntUpTo[partition] = offset;
                _restoredUpTo[partition] = offset;
            }
            Interactions.UserIds.Restore(source);
            Interactions.ItemIds.Restore(source);
            Interactions.CategoryIds.Restore(source);
            var models = reader.ReadInt32();
            if (models != _models.Length) throw new InvalidDataException($"it holds {models} model(s) and this state has {_models.Length}");
            for (var i = 0; i < models; i++)
                ReadSection(reader, _models[i].Name, $"its model {i + 1}", _models[i].Recommender.Restore);
            ReadSection(reader, "feedback", "its feedback section", Server.Restore);
        }
    }

    private static void ReadSection(BinaryReader reader, string expected, string what, Action<Stream> read)
    {
        var name = reader.ReadString();
        if (name != expected) throw new InvalidDataException($"{what} is '{name}' where '{expected}' was expected");
        var length = reader.ReadInt64();
        var bytes = reader.ReadBytes(checked((int)length));
        if (bytes.Length != length) throw new EndOfStreamException($"{what} is cut short");
        using var buffer = new MemoryStream(bytes, writable: false);
        read(buffer);
    }

    /// <summary>Restores the checkpoint at <paramref name="path"/> when the file exists; returns whether it did. A file that
    /// cannot be restored raises a <see cref="StreamMlException"/> naming the file, what is wrong and what to do.</summary>
    public bool TryRestoreCheckpoint(string path)
    {
        if (!File.Exists(path)) return false;
        try
        {
            using var file = File.OpenRead(path);
            RestoreCheckpoint(file);
            return true;
        }
        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException or IOException or StreamMlException)
        {
            throw new StreamMlException($"recommend checkpoint '{path}' cannot be restored: {ex.Message}. Delete it to start the models afresh.");
        }
    }

    /// <summary>Recommends for a user named as in the events: a string user column maps names to ids (a user never seen
    /// gets an id, within the map's bound, so the feedback to this answer joins their first interaction), a numeric one
    /// parses the name. String users are assigned to variants by the hash of the name, as a scoring split keyed by the
    /// same column assigns them. Throws <see cref="ArgumentException"/> with a message for the caller.</summary>
    public ServedRecommendation Recommend(string user, int k, RecommendRequest? request, Span<ScoredItem> results, int variant = -1)
    {
        ArgumentNullException.ThrowIfNull(user);
        if (!Interactions.UsersAreStrings)
            return Server.Recommend(ParseId(user, "user"), k, request, results, variant);
        var id = Interactions.UserIds.TryGetOrAdd(user, out var mapped) ? mapped : UnmappedUser;
        return Server.Recommend(id, k, request, results, variant >= 0 ? variant : Server.Split.Assign(user));
    }

    /// <summary>Recommends for a numeric user id; for a string user column the id is read as the user's name.</summary>
    public ServedRecommendation Recommend(long user, int k, RecommendRequest? request, Span<ScoredItem> results, int variant = -1) =>
        Interactions.UsersAreStrings
            ? Recommend(user.ToString(CultureInfo.InvariantCulture), k, request, results, variant)
            : Server.Recommend(user, k, request, results, variant);

    /// <summary>The id a user gets when the user id map is full: unknown to every model, so served the popularity fallback.</summary>
    public const long UnmappedUser = long.MinValue;

    /// <summary>The item's name as in the events: the string for a string item column, the number otherwise.</summary>
    public string ItemName(long item) =>
        Interactions.ItemsAreStrings ? Interactions.ItemIds.NameOf(item) : item.ToString(CultureInfo.InvariantCulture);

    /// <summary>The id of the item named <paramref name="item"/> as in the events, for filters and boosts. Throws
    /// <see cref="ArgumentException"/> for a string item no interaction has named, or a non-number for a numeric column.</summary>
    public long ItemId(string item)
    {
        ArgumentNullException.ThrowIfNull(item);
        if (!Interactions.ItemsAreStrings) return ParseId(item, "item");
        return Interactions.ItemIds.TryGet(item, out var id) ? id
            : throw new ArgumentException($"item '{item}' is unknown: no interaction has named it");
    }

    private static long ParseId(string text, string role) =>
        long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var id) ? id
            : throw new ArgumentException($"{role} '{text}' is not a number, and the pipeline's {role} column holds numbers");
}

using StreamMl.Engine;
using StreamMl.Recommendations;
using StreamMl.Recommendations.Pipelines;
using StreamMl.Recommendations.Serving;

namespace StreamMl.Host.Recommendations;

/// <summary>What a pipeline's <c>recommend</c> section keeps for as long as the pipeline exists: the models, the
/// interaction operator that feeds them (and its id maps), the A/B server, and the checkpoint. The streaming stage
/// (<see cref="RecommendStage"/>) and the checkpoint sink (<see cref="RecommendCheckpointSink"/>) share it with the
/// Recommendations service.</summary>
/// <remarks>Checkpoints are exact with sources whose positions are stable (files, Kafka, PostgreSQL): the snapshot is
/// taken under the same lock as each batch's update, together with the highest offset per partition that the models
/// have learnt from, and the source commits its positions only after the snapshot is on disk. After a restart the
/// source may replay rows between its last commit and the snapshot; the stage drops those by their offsets, so no
/// event is learnt twice (RecommendRestartTests).</remarks>
internal sealed class RecommendState
{
    private const string Magic = "streamml-recommend-checkpoint";
    private const int Version = 1;

    private readonly Lock _gate = new();
    private readonly Dictionary<int, long> _learntUpTo = [];
    private readonly Dictionary<int, long> _restoredUpTo = [];

    private RecommendState(RecommendSettings settings)
    {
        Settings = settings;
        Models = [.. settings.Models.Select(m => m.Create())];
        Server = new RecommendationServer(
            [.. settings.Variants.Select(v => new RecommendationVariant(v.Name, Models[IndexOfModel(v.Model)], v.Weight))],
            settings.Serving);
        Interactions = new InteractionOperator(settings.Columns, [.. Models, Server.FeedbackObserver]);
    }

    public RecommendSettings Settings { get; }

    /// <summary>The models in spec order.</summary>
    public IRecommender[] Models { get; }

    public RecommendationServer Server { get; }

    public InteractionOperator Interactions { get; }

    /// <summary>Checkpoints written since the pipeline was created.</summary>
    public long Checkpoints { get; private set; }

    /// <summary>Rows skipped after a restart because the restored models had already learnt from them.</summary>
    public long ReplayedRowsSkipped { get; private set; }

    /// <summary>Creates the state, restored from the checkpoint file when there is one.</summary>
    public static RecommendState Create(RecommendSettings settings)
    {
        var state = new RecommendState(settings);
        if (settings.CheckpointPath is { } path && File.Exists(path)) state.Restore(path);
        return state;
    }

    public RecommendStage Stage() => new(this);

    /// <summary>The sink that writes checkpoints, or null when the section names no checkpoint file.</summary>
    public RecommendCheckpointSink? CheckpointSink() => Settings.CheckpointPath is null ? null : new RecommendCheckpointSink(this);

    private int IndexOfModel(string name)
    {
        for (var i = 0; i < Settings.Models.Count; i++) if (Settings.Models[i].Name == name) return i;
        throw new InvalidOperationException($"no model named '{name}'");
    }

    /// <summary>Feeds a batch to the models (called by the stage, on the pipeline's operator thread).</summary>
    public void Learn(ColumnBatch batch, StageContext context)
    {
        var stable = context.Source?.PositionsAreStable == true;
        lock (_gate)
        {
            if (stable && _restoredUpTo.Count > 0) SkipLearnt(batch);
            Interactions.Process(batch, context);
            if (!stable) return;
            var partitions = batch.RowPartitions;
            var offsets = batch.RowOffsets;
            var selection = batch.Selection;
            for (var row = 0; row < batch.Length; row++)
            {
                if (!selection.IsSelected(row)) continue;
                ref var upTo = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_learntUpTo, partitions[row], out var existed);
                if (!existed || offsets[row] > upTo) upTo = offsets[row];
            }
        }
    }

    /// <summary>Deselects the rows a restored snapshot already holds (the source replays them from its last commit);
    /// the first batch with none of them ends the replay.</summary>
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

    /// <summary>Writes every model, the id maps and the learnt offsets to the checkpoint file (a temporary file renamed
    /// over it, so a crash leaves the previous checkpoint whole).</summary>
    public void WriteCheckpoint()
    {
        var path = Settings.CheckpointPath ?? throw new InvalidOperationException("the recommend section has no checkpoint file");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temporary = path + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
        {
            using var writer = new BinaryWriter(file, System.Text.Encoding.UTF8, leaveOpen: true);
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
                Interactions.UserIds.Snapshot(file);
                Interactions.ItemIds.Snapshot(file);
                Interactions.CategoryIds.Snapshot(file);
                writer.Write(Models.Length);
                for (var i = 0; i < Models.Length; i++)
                {
                    writer.Write(Settings.Models[i].Name);
                    using var buffer = new MemoryStream();
                    Models[i].Snapshot(buffer);
                    writer.Write(buffer.Length);
                    buffer.Position = 0;
                    buffer.CopyTo(file);
                }
            }
            file.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
        Checkpoints++;
    }

    private void Restore(string path)
    {
        try
        {
            using var file = File.OpenRead(path);
            using var reader = new BinaryReader(file, System.Text.Encoding.UTF8, leaveOpen: true);
            if (reader.ReadString() != Magic) throw new InvalidDataException("it is not a recommend checkpoint");
            if (reader.ReadInt32() is var version && version != Version) throw new InvalidDataException($"it has version {version}; this build reads {Version}");
            var partitions = reader.ReadInt32();
            for (var i = 0; i < partitions; i++)
            {
                var partition = reader.ReadInt32();
                var offset = reader.ReadInt64();
                _learntUpTo[partition] = offset;
                _restoredUpTo[partition] = offset;
            }
            Interactions.UserIds.Restore(file);
            Interactions.ItemIds.Restore(file);
            Interactions.CategoryIds.Restore(file);
            var models = reader.ReadInt32();
            if (models != Models.Length) throw new InvalidDataException($"it holds {models} model(s) and the spec names {Models.Length}");
            for (var i = 0; i < models; i++)
            {
                var name = reader.ReadString();
                if (name != Settings.Models[i].Name)
                    throw new InvalidDataException($"its model {i + 1} is '{name}' and the spec's is '{Settings.Models[i].Name}'");
                var length = reader.ReadInt64();
                var bytes = reader.ReadBytes(checked((int)length));
                using var buffer = new MemoryStream(bytes, writable: false);
                Models[i].Restore(buffer);
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException or IOException)
        {
            throw new StreamMlException(
                $"recommend checkpoint '{path}' cannot be restored: {ex.Message}. Delete it to start the models afresh, or point 'recommend.checkpoint' elsewhere.");
        }
    }
}

using System.Text.Json;
using StreamMl.Engine;

namespace StreamMl.Host.Pipelines;

/// <summary>Makes a grpc source's positions stable across host restarts, so a producer's retry after a crash
/// (kill -9) duplicates no row. Each producer gets a source partition of its own, kept in the checkpoint file, and its
/// rows are numbered by their place in the producer's stream (row n of the producer is position n of its partition);
/// rows without a producer get a fresh partition per start of the pipeline. When the sinks have made rows durable and
/// the pipeline commits their positions, the checkpoint records, per producer, the highest sequence whose rows are all
/// committed and their row count. At start the producers resume from there: a resent message above it is accepted
/// again and numbered as it was the first time, so a Parquet sink (which skips rows whose positions an earlier run
/// already published) keeps the rows published after the last commit once. Thread-safe.</summary>
internal sealed class IngestCheckpoint
{
    private const int Version = 1;

    private readonly object _gate = new();
    private readonly string _path;
    private readonly IngestProducers _producers;
    private readonly Dictionary<int, IngestProducers.Producer> _byPartition = [];
    private readonly Dictionary<int, long> _committedEnd = [];
    private int _nextPartition;

    /// <summary>Loads <paramref name="path"/> (when it exists) into <paramref name="producers"/> and takes this start's
    /// partition for rows without a producer.</summary>
    public IngestCheckpoint(string path, IngestProducers producers)
    {
        _path = path;
        _producers = producers;
        lock (_gate)
        {
            if (File.Exists(path)) Load();
            foreach (var producer in producers.All)
                if (producer.Partition >= 0) _byPartition[producer.Partition] = producer;
            AnonymousPartition = _nextPartition++;
            Save();
        }
    }

    /// <summary>The partition of this start's rows that carry no producer.</summary>
    public int AnonymousPartition { get; }

    /// <summary>The producer's partition, assigned (and saved, before any of its rows is queued) on first use.</summary>
    public int PartitionOf(IngestProducers.Producer producer)
    {
        lock (_gate)
        {
            if (producer.Partition < 0)
            {
                producer.Partition = _nextPartition++;
                _byPartition[producer.Partition] = producer;
                // Saved now: a partition number must never be handed out twice, even if the host dies before a commit.
                Save();
            }
            return producer.Partition;
        }
    }

    /// <summary>Records that <paramref name="sequence"/> was accepted and its rows end before the producer's next row.</summary>
    public void Accepted(IngestProducers.Producer producer, long sequence)
    {
        lock (_gate)
        {
            producer.Pending.Enqueue((sequence, producer.NextRow));
            // A commit may have covered the rows before this call recorded them.
            if (producer.Partition >= 0 && _committedEnd.TryGetValue(producer.Partition, out var end) && Advance(producer, end)) Save();
        }
    }

    /// <summary>The pipeline committed <paramref name="ranges"/> (every sink made their rows durable): advances each
    /// producer whose messages are now wholly committed, and saves the checkpoint before returning.</summary>
    public void Commit(ReadOnlySpan<SourceRange> ranges)
    {
        lock (_gate)
        {
            var changed = false;
            foreach (var range in ranges)
            {
                if (!_committedEnd.TryGetValue(range.Partition, out var end) || range.End > end) _committedEnd[range.Partition] = range.End;
                if (_byPartition.TryGetValue(range.Partition, out var producer)) changed |= Advance(producer, _committedEnd[range.Partition]);
            }
            if (changed) Save();
        }
    }

    /// <summary>The producer's name for a position's description, or null for rows without one.</summary>
    public string? ProducerOf(int partition)
    {
        lock (_gate) return _byPartition.TryGetValue(partition, out var producer) ? producer.Name : null;
    }

    private static bool Advance(IngestProducers.Producer producer, long committedEnd)
    {
        var advanced = false;
        while (producer.Pending.TryPeek(out var message) && message.EndRow <= committedEnd)
        {
            producer.Pending.Dequeue();
            (producer.CommittedThrough, producer.CommittedRows) = (message.Sequence, message.EndRow);
            advanced = true;
        }
        return advanced;
    }

    private void Load()
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(_path));
            var root = document.RootElement;
            if (root.GetProperty("version").GetInt32() != Version)
                throw new StreamMlException($"ingest checkpoint {_path}: version {root.GetProperty("version")} is not {Version}; remove the file to start afresh");
            _nextPartition = root.GetProperty("next_partition").GetInt32();
            foreach (var entry in root.GetProperty("producers").EnumerateArray())
            {
                var producer = _producers.Get(entry.GetProperty("name").GetString()!);
                var (sequence, rows) = (entry.GetProperty("committed_through").GetInt64(), entry.GetProperty("committed_rows").GetInt64());
                producer.Partition = entry.GetProperty("partition").GetInt32();
                // The same process (a pipeline stop and start) may know more than the file: keep the larger.
                producer.AcceptedThrough = Math.Max(producer.AcceptedThrough, sequence);
                producer.CommittedThrough = Math.Max(producer.CommittedThrough, sequence);
                if (producer.NextRow < rows) (producer.NextRow, producer.CommittedRows) = (rows, rows);
            }
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new StreamMlException($"ingest checkpoint {_path} is not a checkpoint this host wrote ({ex.Message}); remove it to start afresh " +
                                        "(producers' retries after that may duplicate rows)");
        }
    }

    private void Save()
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(_path))!;
        Directory.CreateDirectory(folder);
        var temp = Path.Combine(folder, $".{Path.GetFileName(_path)}.tmp");
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
            {
                json.WriteStartObject();
                json.WriteNumber("version", Version);
                json.WriteNumber("next_partition", _nextPartition);
                json.WriteStartArray("producers");
                foreach (var producer in _byPartition.Values.OrderBy(p => p.Partition))
                {
                    json.WriteStartObject();
                    json.WriteString("name", producer.Name);
                    json.WriteNumber("partition", producer.Partition);
                    json.WriteNumber("committed_through", producer.CommittedThrough);
                    json.WriteNumber("committed_rows", producer.CommittedRows);
                    json.WriteEndObject();
                }
                json.WriteEndArray();
                json.WriteEndObject();
            }
            // On disk before the rename, so a crash leaves the old checkpoint or the new one, never half of one.
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, _path, overwrite: true);
    }
}

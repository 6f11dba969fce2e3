using StreamMl.Engine;
using StreamMl.Host.Pipelines;

namespace StreamMl.Host.Tests.Pipelines;

/// <summary>The grpc source's checkpoint across simulated restarts (a fresh <see cref="IngestProducers"/> per start, as
/// after a process kill): committed sequences and row counts come back, uncommitted ones do not, partition numbers are
/// never handed out twice, and a damaged file is refused with its path.</summary>
public sealed class IngestCheckpointTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("streamml-ingest-ck-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Path_ => Path.Combine(_folder, "state", "ingest.json");

    [Fact]
    public void A_restart_resumes_each_producer_at_its_last_wholly_committed_message()
    {
        var producers = new IngestProducers();
        var checkpoint = new IngestCheckpoint(Path_, producers);
        var a = producers.Get("a");
        var partition = checkpoint.PartitionOf(a);
        // Three messages of 10, 5 and 7 rows accepted; the sinks commit up to row 12 (inside the second message).
        foreach (var (sequence, rows) in new[] { (1L, 10L), (2L, 5L), (3L, 7L) })
        {
            a.NextRow += rows;
            a.AcceptedThrough = sequence;
            checkpoint.Accepted(a, sequence);
        }
        checkpoint.Commit([new SourceRange(partition, 0, 12)]);

        // Killed here. The next start knows only what the file says.
        var restarted = new IngestProducers();
        var again = new IngestCheckpoint(Path_, restarted);
        var resumed = restarted.Get("a");
        Assert.Equal((1L, 10L, 10L, partition), (resumed.AcceptedThrough, resumed.NextRow, resumed.CommittedRows, resumed.Partition));
        Assert.Equal(1L, resumed.CommittedThrough);
        // Rows without a producer get a partition no earlier start used.
        Assert.NotEqual(checkpoint.AnonymousPartition, again.AnonymousPartition);
        Assert.NotEqual(partition, again.AnonymousPartition);
        // A new producer, too: its number was saved before any of its rows could be published.
        Assert.DoesNotContain(again.PartitionOf(restarted.Get("b")), new[] { partition, checkpoint.AnonymousPartition, again.AnonymousPartition });
    }

    [Fact]
    public void A_commit_that_arrives_before_the_message_is_recorded_still_counts()
    {
        var producers = new IngestProducers();
        var checkpoint = new IngestCheckpoint(Path_, producers);
        var a = producers.Get("a");
        var partition = checkpoint.PartitionOf(a);
        a.NextRow = 4;
        checkpoint.Commit([new SourceRange(partition, 0, 4)]);
        checkpoint.Accepted(a, 1);
        Assert.Equal(1L, a.CommittedThrough);
        Assert.Equal(1L, new IngestProducersLoaded(Path_).Get("a").CommittedThrough);
    }

    [Fact]
    public void A_damaged_checkpoint_is_refused_naming_the_file()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path_)!);
        File.WriteAllText(Path_, "{ \"version\": 1, \"next_partition\": ");
        var error = Assert.Throws<StreamMlException>(() => new IngestCheckpoint(Path_, new IngestProducers()));
        Assert.Contains(Path_, error.Message, StringComparison.Ordinal);
        Assert.Contains("remove it to start afresh", error.Message, StringComparison.Ordinal);
    }

    /// <summary>The producers a fresh start loads from a checkpoint file.</summary>
    private sealed class IngestProducersLoaded
    {
        private readonly IngestProducers _producers = new();

        public IngestProducersLoaded(string path) => _ = new IngestCheckpoint(path, _producers);

        public IngestProducers.Producer Get(string name) => _producers.Get(name);
    }
}

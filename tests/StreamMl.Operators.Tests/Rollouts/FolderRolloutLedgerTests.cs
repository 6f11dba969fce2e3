using StreamMl.Operators.Rollouts;

namespace StreamMl.Operators.Tests.Rollouts;

/// <summary>The folder ledger that replicas share: each transition number is taken by exactly one of several replicas
/// appending at once, and gathering adds up every replica's observations (all of those at the current transition, only
/// the labelled outcomes of those still at an earlier one), as one window fed every observation directly would.</summary>
public sealed class FolderRolloutLedgerTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "ledger-" + Guid.NewGuid().ToString("N"));
    private static readonly RolloutOptions s_options = new() { MinRows = 10, MinLabels = 10 };

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void Replicas_appending_the_same_numbers_at_once_each_win_some_and_every_number_holds_its_winner()
    {
        const int count = 200;
        var ledgers = Enumerable.Range(0, 4).Select(r => new FolderRolloutLedger(_folder, $"r{r}", s_options)).ToArray();
        var won = new List<int>[ledgers.Length];
        using var go = new Barrier(ledgers.Length);
        Parallel.For(0, ledgers.Length, new ParallelOptions { MaxDegreeOfParallelism = ledgers.Length }, r =>
        {
            won[r] = [];
            go.SignalAndWait();
            for (var i = 0; i < count; i++)
                if (ledgers[r].TryAppend(i, new RolloutTransition(DateTimeOffset.UnixEpoch, RolloutPhase.Canary, i, 0.05, $"r{r}", null)))
                    won[r].Add(i);
        });
        Assert.Equal(Enumerable.Range(0, count), won.SelectMany(w => w).Order());
        var read = FolderRolloutLedger.ReadTransitions(_folder);
        Assert.Equal(count, read.Count);
        for (var r = 0; r < ledgers.Length; r++)
            foreach (var i in won[r]) Assert.Equal($"r{r}", read[i].Reason);
        Assert.Empty(Directory.GetFiles(Path.Combine(_folder, "transitions"), ".*"));
    }

    [Fact]
    public void Gather_adds_current_replicas_fully_and_stale_replicas_by_their_labels_only()
    {
        var random = new Random(3);
        var expectedChampion = new RolloutWindow(s_options);
        var expectedCandidate = new RolloutWindow(s_options);
        var replicas = new[] { ("a", 1), ("b", 1), ("c", 0) };
        foreach (var (name, at) in replicas)
        {
            var champion = new RolloutWindow(s_options);
            var candidate = new RolloutWindow(s_options);
            for (var row = 0; row < 300; row++)
            {
                var window = row % 4 == 0 ? candidate : champion;
                var expected = row % 4 == 0 ? expectedCandidate : expectedChampion;
                var score = random.NextDouble();
                window.AddScore(score);
                if (at == 1) expected.AddScore(score);
                if (row % 3 == 0) continue;
                var label = random.NextDouble() < score ? 1 : 0;
                window.AddOutcome(score, label);
                expected.AddOutcome(score, label);
            }
            new FolderRolloutLedger(_folder, name, s_options).Publish(at, champion, candidate);
        }
        var gatheredChampion = new RolloutWindow(s_options);
        var gatheredCandidate = new RolloutWindow(s_options);
        new FolderRolloutLedger(_folder, "judge", s_options).Gather(1, gatheredChampion, gatheredCandidate);

        foreach (var (gathered, expected) in new[] { (gatheredChampion, expectedChampion), (gatheredCandidate, expectedCandidate) })
        {
            Assert.Equal(expected.Rows, gathered.Rows);
            Assert.Equal(expected.Labelled, gathered.Labelled);
            Assert.Equal(expected.ScoreCounts.ToArray(), gathered.ScoreCounts.ToArray());
            Assert.Equal(expected.Auc, gathered.Auc, 12);
            Assert.Equal(expected.F1, gathered.F1, 12);
            Assert.Equal(expected.MeanLoss, gathered.MeanLoss, 9);
            Assert.Equal(expected.LossVariance, gathered.LossVariance, 9);
        }
        Assert.Equal(450, gatheredChampion.Rows); // a and b: 225 champion rows each; c is still at transition 0
    }
}

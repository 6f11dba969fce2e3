using System.Diagnostics;
using Grpc.Net.Client;
using HdrHistogram;
using StreamMl.Host.Protos;

namespace StreamMl.Host.Cli;

/// <summary><c>streamml bench --recommend</c>: a pipeline that learns from interactions over a catalogue of
/// <see cref="Items"/> items, then Recommend at a fixed rate, open loop (each call starts at its scheduled time and its
/// latency runs from then, as <see cref="HostBench.ScoreAtRate"/> measures Score).</summary>
internal static class RecommendBench
{
    public const string PipelineName = "bench-recommend";

    public const int Items = 10_000;

    /// <summary>Item-kNN and popularity in an A/B test, fed by Ingest.</summary>
    public const string Spec = """
        name: bench-recommend
        source:
          kind: grpc
          columns: { user: int64, item: int64, ts: int64 }
          queue_batches: 32
        recommend:
          user: user
          item: item
          time: ts
          k: 10
          models:
            - { name: knn, kind: itemknn, neighbours: 100 }
            - { name: pop, kind: popularity }
          variants:
            - { name: A, model: knn, weight: 50 }
            - { name: B, model: pop, weight: 50 }
        """;

    /// <summary><paramref name="users"/> users with <paramref name="perUser"/> events each over every one of
    /// <see cref="Items"/> items: the first pass covers the catalogue, the rest leans to popular items (a skewed draw).</summary>
    public static IEnumerable<RowSet> Interactions(int users, int perUser, int rowsPerMessage = 4096, int seed = 17)
    {
        var random = new Random(seed);
        var set = NewSet();
        var ts = 1_700_000_000_000_000L;
        var total = (long)users * perUser;
        for (long n = 0; n < total; n++)
        {
            var user = n % users;
            var item = n < Items ? n : (long)(Items * Math.Pow(random.NextDouble(), 2.5));
            var row = new Row();
            row.Values.Add(new Value { Integer = user });
            row.Values.Add(new Value { Integer = item });
            row.Values.Add(new Value { Integer = ts += 1000 });
            set.Rows.Add(row);
            if (set.Rows.Count == rowsPerMessage)
            {
                yield return set;
                set = NewSet();
            }
        }
        if (set.Rows.Count > 0) yield return set;

        static RowSet NewSet()
        {
            var s = new RowSet();
            s.Columns.AddRange(["user", "item", "ts"]);
            return s;
        }
    }

    /// <summary>Ingests the interactions and returns the rows accepted.</summary>
    public static async Task<long> LoadAsync(GrpcChannel channel, int users, int perUser, CancellationToken cancellationToken)
    {
        var client = new DataPlane.DataPlaneClient(channel);
        using var call = client.Ingest(cancellationToken: cancellationToken);
        var first = true;
        foreach (var rows in Interactions(users, perUser))
        {
            await call.RequestStream.WriteAsync(new IngestRequest { Pipeline = first ? PipelineName : "", Rows = rows }, cancellationToken).ConfigureAwait(false);
            first = false;
        }
        await call.RequestStream.CompleteAsync().ConfigureAwait(false);
        return (await call.ResponseAsync.ConfigureAwait(false)).RowsAccepted;
    }

    /// <summary>Recommend for known users, k 10, at <paramref name="rate"/> requests per second, open loop; the first
    /// <paramref name="warmup"/> runs at the same rate and is not recorded. <paramref name="variant"/> ("A" item-kNN,
    /// "B" popularity) answers every call instead of the users' own split.</summary>
    public static LongHistogram RecommendAtRate(GrpcChannel channel, int users, int rate, int requests, TimeSpan warmup, string variant = "")
    {
        var client = new Protos.Recommendations.RecommendationsClient(channel);
        var requestsByUser = Enumerable.Range(0, 1024)
            .Select(i => new RecommendRequest { Pipeline = PipelineName, User = (i * 7919L) % users, K = 10, Variant = variant }).ToArray();
        client.Recommend(requestsByUser[0]); // opens the connection
        var next = 0; // AtRate calls from its one scheduler thread
        return HostBench.AtRate(() => client.RecommendAsync(requestsByUser[next++ & 1023]).ResponseAsync, rate, requests, warmup);
    }
}

using System.CommandLine;
using System.Globalization;
using Grpc.Core;
using StreamMl.Host.Cli;
using StreamMl.Host.Hosting;
using StreamMl.Host.Protos;

namespace StreamMl.Host.Demo;

/// <summary><c>streamml demo recommend</c>: streams MovieLens-100k ratings in time order into a host through Ingest while a
/// second client asks Recommend for each user just before that user's next rating arrives, with item-kNN and popularity
/// in a 50/50 A/B test; prints per-variant metrics (CTR, hit rate at k, coverage, latency) and the z-test as it goes.</summary>
internal static class RecommendDemo
{
    public const string DefaultData = "../shared/data/movielens_100k/u.data";

    private const string PipelineName = "movies";

    private const string Spec = """
        name: movies
        options: { batch_capacity: 1024, flush_interval: 200ms }
        source:
          kind: grpc
          columns: { user: int64, item: int64, rating: float32, ts: int64 }
          queue_batches: 64
        recommend:
          user: user
          item: item
          weight: rating
          time: ts
          k: 10
          profile: { capacity: 200, half_life: none, max_lateness: 876000h }
          popularity_half_life: 720h
          models:
            - { name: knn, kind: itemknn, neighbours: 100, window: 20 }
            - { name: pop, kind: popularity }
          variants:
            - { name: A, model: knn, weight: 50 }
            - { name: B, model: pop, weight: 50 }
          feedback_horizon: 60m
        """;

    public static Command Create()
    {
        var data = new Option<string>("--data") { Description = "MovieLens u.data (user, item, rating, timestamp; tab-separated)", DefaultValueFactory = _ => DefaultData };
        var events = new Option<int>("--events") { Description = "Ratings to stream (0: all)", DefaultValueFactory = _ => 0 };
        var chunk = new Option<int>("--chunk") { Description = "Ratings per Ingest message", DefaultValueFactory = _ => 500 };
        var command = new Command("recommend", "Stream MovieLens-100k ratings through a recommend pipeline and serve an A/B test of item-kNN against popularity from a second client")
        {
            data, events, chunk,
        };
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(data)!, parse.GetValue(events), parse.GetValue(chunk), parse.InvocationConfiguration.Output, ct));
        return command;
    }

    private readonly record struct Rating(long User, long Item, float Value, long Seconds);

    public static async Task<int> RunAsync(string dataPath, int maxEvents, int chunk, TextWriter output, CancellationToken cancellationToken)
    {
        var ratings = Load(dataPath, output);
        if (maxEvents > 0 && ratings.Count > maxEvents) ratings = ratings.GetRange(0, maxEvents);
        chunk = Math.Max(1, chunk);

        await using var server = await StreamMlServer.StartAsync(new StreamMlOptions { Port = 0, MetricsPort = -1 }, cancellationToken: cancellationToken);
        using var adminChannel = HostClient.Open(server.Address, null);
        await new Control.ControlClient(adminChannel).CreatePipelineAsync(new CreatePipelineRequest { Spec = Spec, Start = true }, cancellationToken: cancellationToken);
        output.WriteLine($"host on {server.Address}; pipeline '{PipelineName}': item-kNN (variant A) against popularity (variant B), 50/50 by user id hash");

        // Two clients on their own connections: one streams the interactions in, the other serves recommendations.
        using var ingestChannel = HostClient.Open(server.Address, null);
        using var servingChannel = HostClient.Open(server.Address, null);
        var query = new Query.QueryClient(adminChannel);
        using var ingest = new DataPlane.DataPlaneClient(ingestChannel).Ingest(cancellationToken: cancellationToken);
        using var recommend = new Protos.Recommendations.RecommendationsClient(servingChannel).RecommendStream(cancellationToken: cancellationToken);
        var answers = Task.Run(async () =>
        {
            var count = 0L;
            await foreach (var _ in recommend.ResponseStream.ReadAllAsync(cancellationToken)) count++;
            return count;
        }, cancellationToken);

        var first = true;
        var requested = 0L;
        var report = Math.Max(chunk, ratings.Count / 5 / chunk * chunk);
        for (var start = 0; start < ratings.Count; start += chunk)
        {
            var end = Math.Min(ratings.Count, start + chunk);
            // Ask for each user of this chunk before their ratings arrive: the ratings then resolve the impressions.
            foreach (var user in ratings.Skip(start).Take(end - start).Select(r => r.User).Distinct())
            {
                await recommend.RequestStream.WriteAsync(new RecommendRequest { Pipeline = requested == 0 ? PipelineName : "", User = user }, cancellationToken);
                requested++;
            }
            var rows = new RowSet { Columns = { "user", "item", "rating", "ts" } };
            for (var i = start; i < end; i++)
            {
                var row = new Row();
                row.Values.Add(new Value { Integer = ratings[i].User });
                row.Values.Add(new Value { Integer = ratings[i].Item });
                row.Values.Add(new Value { Number = ratings[i].Value });
                row.Values.Add(new Value { Integer = ratings[i].Seconds * 1_000_000 });
                rows.Rows.Add(row);
            }
            await ingest.RequestStream.WriteAsync(new IngestRequest { Pipeline = first ? PipelineName : "", Rows = rows }, cancellationToken);
            first = false;
            if (end % report == 0 || end == ratings.Count)
                Print(output, $"after {end:N0} ratings", await query.GetMetricsAsync(new MetricsRequest { Pipeline = PipelineName }, cancellationToken: cancellationToken));
        }
        await recommend.RequestStream.CompleteAsync();
        var served = await answers;
        await ingest.RequestStream.CompleteAsync();
        var accepted = (await ingest.ResponseAsync).RowsAccepted;
        output.WriteLine($"ratings streamed: {accepted:N0}; recommendations served: {served:N0}");
        return ExitCodes.Ok;
    }

    private static void Print(TextWriter output, string when, MetricsReport metrics)
    {
        output.WriteLine($"{when}:");
        output.WriteLine("  variant  model       requests  fallback    CTR   hit@10  coverage  p50 us  p99 us");
        foreach (var v in metrics.RecommendVariants)
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {v.Variant,-8} {v.Model,-10} {v.Requests,9:N0} {v.Fallbacks,9:N0} {v.ClickThroughRate,6:F3} {v.HitRate,8:F3} {v.Coverage,9:F3} {v.LatencyP50Us,7:F0} {v.LatencyP99Us,7:F0}"));
        foreach (var c in metrics.RecommendComparisons)
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {c.Variant} against {c.Baseline}: CTR z {c.CtrZ:F2} (p {c.CtrPValue:G3}), hit rate z {c.HitRateZ:F2} (p {c.HitRatePValue:G3})"));
    }

    private static List<Rating> Load(string path, TextWriter output)
    {
        if (!File.Exists(path))
        {
            output.WriteLine($"MovieLens data not found at '{Path.GetFullPath(path)}': streaming 20,000 generated ratings instead (pass --data to point at u.data)");
            return Generated(20_000);
        }
        var ratings = new List<Rating>(100_000);
        var line = 0;
        foreach (var text in File.ReadLines(path))
        {
            line++;
            var fields = text.Split('\t');
            if (fields.Length < 4 || !long.TryParse(fields[0], CultureInfo.InvariantCulture, out var user) || !long.TryParse(fields[1], CultureInfo.InvariantCulture, out var item)
                || !float.TryParse(fields[2], CultureInfo.InvariantCulture, out var rating) || !long.TryParse(fields[3], CultureInfo.InvariantCulture, out var seconds))
                throw new Engine.StreamMlException($"{path} line {line}: expected 'user<TAB>item<TAB>rating<TAB>timestamp', got '{Hosting.SafeText.ForLog(text)}'");
            ratings.Add(new Rating(user, item, rating, seconds));
        }
        output.WriteLine($"read {ratings.Count:N0} ratings from {path}");
        // Stable sort: ratings in the same second keep their file order.
        return [.. ratings.OrderBy(r => r.Seconds)];
    }

    /// <summary>Users who each like one of 20 "genres" of 50 items, rating items of their genre mostly.</summary>
    private static List<Rating> Generated(int count)
    {
        var random = new Random(42);
        var ratings = new List<Rating>(count);
        for (var i = 0; i < count; i++)
        {
            var user = random.Next(1, 501);
            var genre = user % 20;
            var item = random.Next(10) < 8 ? genre * 50 + (long)(50 * Math.Pow(random.NextDouble(), 2)) : random.Next(0, 1000);
            ratings.Add(new Rating(user, item, 1 + random.Next(5), 880_000_000 + i));
        }
        return ratings;
    }
}

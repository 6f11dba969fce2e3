using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using StreamMl.Host.Hosting;
using StreamMl.Host.Pipelines;
using StreamMl.Host.Protos;
using StreamMl.Testing;

namespace StreamMl.Host.Tests.Recommendations;

/// <summary>A host stopped and started again from the recommend checkpoint and the file source's checkpoint answers
/// exactly as before, and has learnt every event once.</summary>
public sealed class RecommendRestartTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "streamml-rec-restart-" + Guid.NewGuid().ToString("N"));

    public RecommendRestartTests() => Directory.CreateDirectory(_folder);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string WriteSpec()
    {
        var data = new System.Text.StringBuilder("user,item,rating,ts\n");
        var random = new Random(21);
        var ts = 1_000_000_000_000L;
        for (var user = 1; user <= 40; user++)
            for (var i = 0; i < 10; i++)
                data.Append($"{user},{(user * 5 + random.Next(0, 30)) % 80},{1 + random.Next(5)},{ts += 1_000_000}\n");
        File.WriteAllText(Path.Combine(_folder, "interactions.csv"), data.ToString());
        var spec = Path.Combine(_folder, "recs.yaml");
        File.WriteAllText(spec, """
            name: recs
            options: { batch_capacity: 64, ring_size: 4, flush_interval: 100ms }
            source:
              kind: file
              path: interactions.csv
              format: csv
              types: { user: int64, item: int64, rating: float32, ts: int64 }
              checkpoint: state/source.json
            recommend:
              user: user
              item: item
              weight: rating
              time: ts
              models:
                - { name: pop, kind: popularity }
                - { name: knn, kind: itemknn }
              variants:
                - { name: A, model: knn, weight: 1 }
                - { name: B, model: pop, weight: 1 }
              checkpoint: state/recs.snapshot
            """);
        return spec;
    }

    private static async Task<(List<string> Answers, long Events)> RunAsync(string spec, bool waitForAll)
    {
        var options = new StreamMlOptions { Port = 0, MetricsPort = -1 };
        options.PipelineSpecs.Add(spec);
        await using var server = await StreamMlServer.StartAsync(options);
        var pipeline = server.Services.GetRequiredService<PipelineManager>().Get("recs");
        var state = pipeline.Runtime.Recommend!;
        if (waitForAll)
        {
            await Eventually.TrueAsync(() => state.Models[0].Stats.Events >= 400, "every interaction to be learnt", seen: () => $"{state.Models[0].Stats.Events}");
            await Eventually.TrueAsync(() => pipeline.State == PipelineState.Completed, "the file to be read to the end");
        }
        using var channel = GrpcChannel.ForAddress(server.Address);
        var client = new Protos.Recommendations.RecommendationsClient(channel);
        var answers = new List<string>();
        for (var user = 1; user <= 45; user++)
            foreach (var variant in new[] { "A", "B" })
            {
                var answer = await client.RecommendAsync(new RecommendRequest { Pipeline = "recs", User = user, K = 10, Variant = variant });
                answers.Add($"{user}/{answer.Variant}/{answer.Model}/{answer.Fallback}: " +
                    string.Join(",", answer.Items.Select(i => $"{i.Item}={i.Score:R}")));
            }
        return (answers, state.Models[1].Stats.Events);
    }

    [Fact]
    public async Task A_restarted_host_restores_the_models_and_answers_the_same()
    {
        var spec = WriteSpec();
        var (first, firstEvents) = await RunAsync(spec, waitForAll: true);
        Assert.Equal(400, firstEvents);
        Assert.True(File.Exists(Path.Combine(_folder, "state", "recs.snapshot")));

        var (second, secondEvents) = await RunAsync(spec, waitForAll: false);
        Assert.Equal(first, second);
        Assert.Equal(400, secondEvents); // restored, and nothing read twice
    }

    [Fact]
    public async Task Rows_the_snapshot_holds_are_not_learnt_again_when_the_source_replays_them()
    {
        var spec = WriteSpec();
        var (first, _) = await RunAsync(spec, waitForAll: true);
        // The crash window: the snapshot is on disk but the source's commit is older. Without the source checkpoint the
        // file is read again from its first row; the models must skip all 400 rows by their offsets.
        File.Delete(Path.Combine(_folder, "state", "source.json"));
        var options = new StreamMlOptions { Port = 0, MetricsPort = -1 };
        options.PipelineSpecs.Add(spec);
        await using (var server = await StreamMlServer.StartAsync(options))
        {
            var pipeline = server.Services.GetRequiredService<PipelineManager>().Get("recs");
            await Eventually.TrueAsync(() => pipeline.State == PipelineState.Completed, "the file to be read again to the end");
            var state = pipeline.Runtime.Recommend!;
            Assert.Equal(400, state.ReplayedRowsSkipped);
            Assert.Equal(400, state.Models[0].Stats.Events);
            Assert.Equal(400, state.Models[1].Stats.Events);
        }
        var (again, events) = await RunAsync(spec, waitForAll: false);
        Assert.Equal(first, again);
        Assert.Equal(400, events);
    }

    [Fact]
    public async Task A_checkpoint_of_other_models_is_refused_with_what_to_do()
    {
        var spec = WriteSpec();
        await RunAsync(spec, waitForAll: true);
        File.WriteAllText(spec, File.ReadAllText(spec).Replace("- { name: knn, kind: itemknn }", "- { name: ease, kind: ease }").Replace("model: knn", "model: ease"));
        var options = new StreamMlOptions { Port = 0, MetricsPort = -1 };
        options.PipelineSpecs.Add(spec);
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => StreamMlServer.StartAsync(options));
        Assert.Contains("recommend checkpoint", ex.Message);
        Assert.Contains("Delete it to start the models afresh", ex.Message);
    }
}

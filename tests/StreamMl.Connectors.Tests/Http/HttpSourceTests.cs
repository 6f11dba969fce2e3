using System.Globalization;
using System.Text.Json;
using StreamMl.Connectors.Tests.Delivery;
using StreamMl.Engine;
using Xunit.Abstractions;

namespace StreamMl.Connectors.Tests.Http;

public sealed class HttpSourceTests(ITestOutputHelper output)
{
    private static readonly Schema s_schema = new(
        new Field("id", ColumnType.Int64, Nullable: false),
        new Field("sensor", ColumnType.String),
        new Field("temp", ColumnType.Float64),
        new Field("at", ColumnType.Timestamp));

    private static HttpSourceOptions Options(Uri url, HttpPagination pagination) => new()
    {
        Url = url,
        Schema = s_schema,
        JsonPaths = { ["sensor"] = "$.sensor.name", ["temp"] = "$.sensor.temp" },
        EventTimeColumn = "at",
        Pagination = pagination,
        StopAtEnd = true,
        RequestsPerSecond = 0,
        RetryDelay = TimeSpan.FromMilliseconds(50),
        Timeout = TimeSpan.FromSeconds(1),
    };

    private static void AssertRecords(IEnumerable<CollectedRow> rows, int count)
    {
        var list = rows.ToList();
        Assert.Equal(count, list.Count);
        foreach (var row in list)
        {
            var id = int.Parse(row.Get("id"), CultureInfo.InvariantCulture);
            // Reference: the record as System.Text.Json serialized it for the server.
            using var doc = JsonDocument.Parse(JsonSerializer.Serialize(TestApiServer.Record(id)));
            var sensor = doc.RootElement.GetProperty("sensor");
            Assert.Equal(sensor.GetProperty("name").GetString(), row.Get("sensor"));
            Assert.Equal(sensor.GetProperty("temp").GetDouble(), double.Parse(row.Get("temp"), CultureInfo.InvariantCulture));
            Assert.Equal((doc.RootElement.GetProperty("at").GetDateTimeOffset().UtcTicks - DateTime.UnixEpoch.Ticks) / 10, row.EventTime);
        }
        Assert.Equal(Enumerable.Range(0, count), list.Select(r => int.Parse(r.Get("id"), CultureInfo.InvariantCulture)).Order());
    }

    [Fact]
    public async Task Next_link_pages_with_a_bearer_token_from_a_file_survive_429_500_and_a_stalled_request()
    {
        var tokenFile = Path.GetTempFileName();
        const string token = "tok-5f2a9c77e1";
        await File.WriteAllTextAsync(tokenFile, token + "\n");
        using var server = new TestApiServer(records: 450, bearer: token);
        server.Fault(2, "429");
        server.Fault(4, "500");
        server.Fault(6, "stall");
        var logs = new LogCapture();
        var options = Options(server.Url("/nextlink"), HttpPagination.NextLink);
        options.RecordsPath = "$.data.items[*]";
        options.BearerToken = Secret.FromFile(tokenFile);
        options.LoggerFactory = logs;
        var source = new HttpSource(options);
        var sink = new CollectingSink();
        await using (var pipeline = Pipeline.From(source, new PipelineOptions { Name = "api", BatchCapacity = 128 }).To(sink).Build())
            await pipeline.RunAsync().WaitAsync(TimeSpan.FromSeconds(60));
        File.Delete(tokenFile);

        AssertRecords(sink.Rows, 450);
        output.WriteLine(string.Join("\n", server.Log.Select(l => $"{l.At:HH:mm:ss.fff} {l.Status} {l.Path}")));
        // Three injected faults, each retried; a slow machine may time out an ordinary request too, which is retried the same way.
        Assert.InRange(source.Retries, 3, 5);
        Assert.Equal(5 + source.Retries, source.Requests);
        Assert.Single(server.Log, l => l.Status == 429);
        Assert.Single(server.Log, l => l.Status == 500);
        var retryAfter = server.Log.Where(l => l.Status == 429).Select(l => l.At).Single();
        var nextAttempt = server.Log.Where(l => l.At > retryAfter).Min(l => l.At);
        Assert.True(nextAttempt - retryAfter >= TimeSpan.FromMilliseconds(900), $"Retry-After: 1 was not honoured ({(nextAttempt - retryAfter).TotalMilliseconds} ms)");
        Assert.Contains(logs.Lines, l => l.Contains("HTTP 429", StringComparison.Ordinal));
        Assert.Contains(logs.Lines, l => l.Contains("TimeoutRejectedException", StringComparison.Ordinal));
        Assert.DoesNotContain(token, logs.All);
    }

    [Fact]
    public async Task Page_numbers_with_an_api_key_header_are_rate_limited()
    {
        using var server = new TestApiServer(records: 230, apiKey: "key-0042abc") { PageSize = 50 };
        Environment.SetEnvironmentVariable("STREAMML_TEST_API_KEY", "key-0042abc");
        var options = Options(server.Url("/pages"), HttpPagination.PageNumber);
        options.PageSize = 50;
        options.PageSizeParameter = "size";
        options.ApiKey = Secret.FromEnvironment("STREAMML_TEST_API_KEY");
        options.RequestsPerSecond = 10;
        // Send times are taken in the client: the server's own clock sees queueing delays of a busy machine.
        using var recorder = new SendTimes(new SocketsHttpHandler());
        options.Handler = recorder;
        var sink = new CollectingSink();
        await using (var pipeline = Pipeline.From(new HttpSource(options), new PipelineOptions { Name = "pages" }).To(sink).Build())
            await pipeline.RunAsync().WaitAsync(TimeSpan.FromSeconds(30));
        AssertRecords(sink.Rows, 230);
        output.WriteLine(string.Join("\n", server.Log.Select(l => $"{l.At:HH:mm:ss.fff} {l.Status} {l.Path}")));
        var times = recorder.Times.Order().ToList();
        // 50, 50, 50, 50, 30: the short page is the last (a request timed out on a loaded machine would be retried).
        Assert.Equal(5, server.Log.Where(l => l.Status == 200).Select(l => l.Path).Distinct().Count());
        var gaps = times.Zip(times.Skip(1), (a, b) => b - a).ToList();
        output.WriteLine("gaps ms: " + string.Join(", ", gaps.Select(g => g.TotalMilliseconds.ToString("F0", CultureInfo.InvariantCulture))));
        Assert.All(gaps, g => Assert.True(g >= TimeSpan.FromMilliseconds(90), $"requests {g.TotalMilliseconds} ms apart, limit is 10/s"));
    }

    [Fact]
    public async Task Cursor_pages_with_the_api_key_in_the_query_resume_from_the_checkpoint_file_after_a_restart()
    {
        using var server = new TestApiServer(records: 320, apiKey: "qk-771");
        var checkpoint = Path.Combine(Path.GetTempPath(), "streamml-http-" + Guid.NewGuid().ToString("N") + ".json");
        HttpSourceOptions CursorOptions()
        {
            var options = Options(server.Url("/cursor"), HttpPagination.Cursor);
            options.RecordsPath = "$.results";
            options.CursorPath = "$.paging.next_cursor";
            options.ApiKey = Secret.FromValue("qk-771");
            options.ApiKeyQueryParameter = "api_key";
            options.CheckpointPath = checkpoint;
            return options;
        }
        try
        {
            var first = new CollectingSink();
            await using (var pipeline = Pipeline.From(new HttpSource(CursorOptions()), new PipelineOptions { Name = "c1" }).To(first).Build())
                await pipeline.RunAsync().WaitAsync(TimeSpan.FromSeconds(30));
            AssertRecords(first.Rows, 320);

            // New records appear at the end; a restarted source asks from the saved point and gets only those.
            server.Records = 475;
            var second = new CollectingSink();
            await using (var pipeline = Pipeline.From(new HttpSource(CursorOptions()), new PipelineOptions { Name = "c2" }).To(second).Build())
                await pipeline.RunAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(Enumerable.Range(320, 155), second.Rows.Select(r => int.Parse(r.Get("id"), CultureInfo.InvariantCulture)).Order());
            AssertRecords(first.Rows.Concat(second.Rows), 475);
        }
        finally
        {
            File.Delete(checkpoint);
        }
    }

    [Fact]
    public async Task A_wrong_token_fails_with_a_clear_message_that_does_not_contain_it()
    {
        using var server = new TestApiServer(records: 10, bearer: "right-token-123");
        var options = Options(server.Url("/nextlink"), HttpPagination.NextLink);
        options.RecordsPath = "$.data.items";
        options.BearerToken = Secret.FromValue("wrong-token-456");
        var pipeline = Pipeline.From(new HttpSource(options), new PipelineOptions { Name = "bad", ErrorPolicy = ErrorPolicy.Stop }).To(new CollectingSink()).Build();
        var error = await Assert.ThrowsAnyAsync<Exception>(() => pipeline.RunAsync().WaitAsync(TimeSpan.FromSeconds(30)));
        await pipeline.DisposeAsync();
        output.WriteLine(error.Message);
        Assert.Contains("401", error.Message);
        Assert.Contains("token", error.Message);
        Assert.DoesNotContain("wrong-token-456", error.ToString());
        Assert.Equal(1, server.RequestCount); // 401 is not retried
    }

    private sealed class SendTimes(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        public System.Collections.Concurrent.ConcurrentQueue<DateTime> Times { get; } = new();

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Times.Enqueue(DateTime.UtcNow);
            return base.SendAsync(request, cancellationToken);
        }
    }
}

using System.Net;
using System.Runtime.InteropServices;
using System.Text.Json;
using Polly;
using Polly.Retry;
using Polly.Timeout;
using StreamMl.Connectors.Internal;
using StreamMl.Engine;

namespace StreamMl.Connectors;

/// <summary>Polls a JSON REST endpoint page by page and turns each record into a row through a JSON-path mapping.
/// Requests carry a bearer token or API key read from an environment variable or file, are paced to a request rate,
/// and are retried after 429 / 5xx / timeouts with exponential backoff and jitter (honouring <c>Retry-After</c>), using
/// Polly. Only one page is held in memory. The resume point (the page after the last fully durable one) is the
/// checkpoint, kept in a file when <see cref="HttpSourceOptions.CheckpointPath"/> is set.</summary>
public sealed class HttpSource : IBatchSource
{
    private readonly HttpSourceOptions _options;
    private readonly JsonRowDecoder _decoder;
    private readonly ConnectorLog _log;
    private readonly string[] _recordsPath;
    private readonly object _commitGate = new();
    private readonly Queue<(long EndOffset, ResumePoint After)> _pages = new();
    private HttpClient? _client;
    private ResiliencePipeline<HttpResponseMessage>? _resilience;
    private long _nextRequestAt;
    private IDeadLetterSink? _deadLetters;
    private string _pipeline = "";
    private Schema? _boundSchema;
    private int _eventTimeColumn = -1;
    private ResumePoint _next;
    private JsonDocument? _page;
    private List<JsonElement>? _pageRecords;
    private int _pageIndex;
    private ResumePoint _pageAfter;
    private bool _atEnd;
    private DateTime _endReachedAt;
    private long _nextOffset;
    private long _requests;
    private long _retries;
    private ResumePoint? _checkpoint;

    /// <summary>Where reading resumes: the request token of a page (URL, page number or cursor) and how many of that
    /// page's records were already delivered.</summary>
    private readonly record struct ResumePoint(string? Token, int Skip);

    /// <summary>Creates the source; nothing is requested until the first <see cref="FillAsync"/>.</summary>
    public HttpSource(HttpSourceOptions options)
    {
        if (options.Url is null || !options.Url.IsAbsoluteUri) throw new ConnectorConfigurationException("HttpSource needs an absolute Url");
        if (options.Schema.Count == 0) throw new ConnectorConfigurationException("HttpSource needs a Schema (the columns to fill)");
        _options = options;
        _decoder = new JsonRowDecoder([.. options.Schema], options.JsonPaths, options.TimestampUnit);
        var records = JsonRowDecoder.NormalizePath(options.RecordsPath);
        if (records.EndsWith("[*]", StringComparison.Ordinal)) records = records[..^3];
        _recordsPath = records.Length == 0 ? [] : records.Split('.');
        Schema = options.Schema;
        if (options.EventTimeColumn is { } et) options.Schema.Require(et, ColumnType.Timestamp);
        var secrets = new List<string?>();
        if (options.BearerToken is not null && options.BearerToken.TryReveal(out var token)) secrets.Add(token);
        if (options.ApiKey is not null && options.ApiKey.TryReveal(out var key)) secrets.Add(key);
        _log = new ConnectorLog(options.LoggerFactory, "StreamMl.Connectors.Http", $"http source {options.Url.GetLeftPart(UriPartial.Path)}", new Redaction(secrets));
        _next = new ResumePoint(FirstToken(), 0);
    }

    /// <inheritdoc/>
    public string Name => $"http:{_options.Url!.GetLeftPart(UriPartial.Path)}";

    /// <inheritdoc/>
    public Schema Schema { get; }

    /// <summary>HTTP requests sent, retries included.</summary>
    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>Retries after 429, 5xx, timeouts and network errors.</summary>
    public long Retries => Interlocked.Read(ref _retries);

    private string? FirstToken() => _options.Pagination switch
    {
        HttpPagination.PageNumber => _options.FirstPage.ToString(System.Globalization.CultureInfo.InvariantCulture),
        HttpPagination.Cursor => null,
        _ => _options.Url!.AbsoluteUri,
    };

    /// <inheritdoc/>
    public ValueTask OpenAsync(SourceContext context, CancellationToken cancellationToken)
    {
        _pipeline = context.PipelineName;
        _deadLetters = context.DeadLetters;
        _client = _options.Handler is null ? new HttpClient() : new HttpClient(_options.Handler, disposeHandler: false);
        _client.Timeout = System.Threading.Timeout.InfiniteTimeSpan; // Polly's timeout strategy times each attempt
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage>();
        builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
        {
            MaxRetryAttempts = _options.MaxRetryAttempts,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = _options.RetryDelay,
            MaxDelay = _options.MaxRetryDelay,
            ShouldHandle = new PredicateBuilder<HttpResponseMessage>()
                .Handle<HttpRequestException>()
                .Handle<TimeoutRejectedException>()
                .HandleResult(r => r.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout || (int)r.StatusCode >= 500),
            DelayGenerator = args =>
            {
                // A server that says when to come back is believed (bounded by MaxRetryDelay).
                var retryAfter = args.Outcome.Result?.Headers.RetryAfter;
                TimeSpan? delay = retryAfter?.Delta ?? (retryAfter?.Date is { } date ? date - DateTimeOffset.UtcNow : null);
                if (delay is { } d) return ValueTask.FromResult<TimeSpan?>(d < TimeSpan.Zero ? TimeSpan.Zero : d > _options.MaxRetryDelay ? _options.MaxRetryDelay : d);
                return ValueTask.FromResult<TimeSpan?>(null);
            },
            OnRetry = args =>
            {
                Interlocked.Increment(ref _retries);
                var why = args.Outcome.Exception is { } ex ? ex.GetType().Name : $"HTTP {(int)args.Outcome.Result!.StatusCode}";
                _log.Warning($"{why}; retry {args.AttemptNumber + 1} of {_options.MaxRetryAttempts} in {args.RetryDelay.TotalMilliseconds:F0} ms");
                args.Outcome.Result?.Dispose();
                return ValueTask.CompletedTask;
            },
        });
        builder.AddTimeout(_options.Timeout);
        _resilience = builder.Build();
        if (_options.CheckpointPath is { } path && File.Exists(path))
        {
            var saved = JsonSerializer.Deserialize<SavedCheckpoint>(File.ReadAllText(path));
            if (saved is not null)
            {
                _next = new ResumePoint(saved.Token, saved.Skip);
                _checkpoint = _next;
                _log.Info($"resuming at {(saved.Token is null ? "the first page" : "the saved page")} after {saved.Skip} records");
            }
        }
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc/>
    public async ValueTask<bool> FillAsync(ColumnBatch batch, CancellationToken cancellationToken)
    {
        if (!ReferenceEquals(_boundSchema, batch.Schema))
        {
            _decoder.Bind(batch.Schema);
            _eventTimeColumn = _options.EventTimeColumn is { } et ? batch.Schema.Require(et, ColumnType.Timestamp) : -1;
            _boundSchema = batch.Schema;
        }
        var row = 0;
        while (row < batch.Capacity && !cancellationToken.IsCancellationRequested)
        {
            if (_page is null)
            {
                if (_atEnd)
                {
                    if (_options.StopAtEnd) break;
                    if (row > 0 || DateTime.UtcNow - _endReachedAt < _options.PollInterval)
                    {
                        if (row == 0) await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken).ConfigureAwait(false);
                        break;
                    }
                    _atEnd = false;
                }
                if (!await FetchPageAsync(cancellationToken).ConfigureAwait(false)) continue;
            }
            var records = _pageRecords!;
            var raw = records[_pageIndex];
            var offset = _nextOffset++;
            string? error = null;
            if (raw.ValueKind == JsonValueKind.Object && _decoder.TryDecode(JsonMarshal.GetRawUtf8Value(raw), batch, row, out error))
            {
                batch.EventTimesBuffer[row] = _eventTimeColumn >= 0 && batch[_eventTimeColumn].IsValid(row)
                    ? batch[_eventTimeColumn].Values<long>()[row] : (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) / 10;
                batch.RowOffsetsBuffer[row] = offset;
                batch.RowPartitionsBuffer[row] = 0;
                row++;
            }
            else
            {
                error ??= $"record is a JSON {raw.ValueKind}, not an object";
                _deadLetters?.Write(new DeadLetter(_pipeline, Name, "decode", error, Describe(0, offset), 0, offset, raw.GetRawText()));
            }
            batch.Positions.Add(0, offset, offset + 1);
            if (++_pageIndex == records.Count)
            {
                lock (_commitGate) _pages.Enqueue((offset + 1, _pageAfter));
                _page!.Dispose();
                _page = null;
                _pageRecords = null;
            }
        }
        batch.Length = row;
        var exhausted = _options.StopAtEnd && _atEnd && _page is null;
        return !exhausted;
    }

    private Uri RequestUri(string? token)
    {
        var uri = _options.Pagination switch
        {
            HttpPagination.NextLink or HttpPagination.None => new Uri(token!),
            HttpPagination.PageNumber => WithQuery(_options.Url!, _options.PageParameter, token!,
                _options.PageSizeParameter, _options.PageSize.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            _ => token is null ? _options.Url! : WithQuery(_options.Url!, _options.CursorParameter, token, null, null),
        };
        if (_options.ApiKey is not null && _options.ApiKeyQueryParameter is { } parameter)
            uri = WithQuery(uri, parameter, _options.ApiKey.Reveal(), null, null);
        return uri;
    }

    private static Uri WithQuery(Uri uri, string name, string value, string? name2, string? value2)
    {
        var builder = new UriBuilder(uri);
        var query = builder.Query.TrimStart('?');
        var parts = query.Length == 0 ? new List<string>() : [.. query.Split('&')];
        parts.RemoveAll(p => p.StartsWith(name + "=", StringComparison.Ordinal) || (name2 is not null && p.StartsWith(name2 + "=", StringComparison.Ordinal)));
        parts.Add($"{Uri.EscapeDataString(name)}={Uri.EscapeDataString(value)}");
        if (name2 is not null) parts.Add($"{Uri.EscapeDataString(name2)}={Uri.EscapeDataString(value2!)}");
        builder.Query = string.Join('&', parts);
        return builder.Uri;
    }

    // Fetches the page at _next; false when it had nothing new (then _atEnd is set).
    private async Task<bool> FetchPageAsync(CancellationToken cancellationToken)
    {
        var request = _next;
        var uri = RequestUri(request.Token);
        using var response = await _resilience!.ExecuteAsync(async ct =>
        {
            await PaceAsync(ct).ConfigureAwait(false);
            Interlocked.Increment(ref _requests);
            using var message = new HttpRequestMessage(HttpMethod.Get, uri);
            message.Headers.Accept.ParseAdd("application/json");
            if (_options.BearerToken is not null) message.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", _options.BearerToken.Reveal());
            if (_options.ApiKey is not null && _options.ApiKeyQueryParameter is null) message.Headers.TryAddWithoutValidation(_options.ApiKeyHeader, _options.ApiKey.Reveal());
            return await _client!.SendAsync(message, HttpCompletionOption.ResponseContentRead, ct).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
            throw new StreamMlException($"{_log.Redaction.Apply(uri.GetLeftPart(UriPartial.Path))} answered HTTP {(int)response.StatusCode} {response.ReasonPhrase}" +
                (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden ? "; check the token or API key" : $" after {_options.MaxRetryAttempts} retries"));
        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(bytes);
        }
        catch (JsonException ex)
        {
            throw new BadInputException($"the response is not JSON: {ex.Message}", uri.GetLeftPart(UriPartial.Path));
        }
        var records = Select(document.RootElement, _recordsPath);
        if (records.ValueKind != JsonValueKind.Array)
        {
            document.Dispose();
            throw new BadInputException($"'{_options.RecordsPath}' is not an array of records in the response", uri.GetLeftPart(UriPartial.Path));
        }
        var list = records.EnumerateArray().ToList();
        var nextToken = NextToken(document.RootElement, response, request.Token, list.Count);
        var after = nextToken is null ? new ResumePoint(request.Token, list.Count) : new ResumePoint(nextToken, 0);
        if (nextToken is null)
        {
            _atEnd = true;
            _endReachedAt = DateTime.UtcNow;
        }
        _next = after;
        var fresh = list.Skip(Math.Min(request.Skip, list.Count)).ToList();
        if (fresh.Count == 0)
        {
            document.Dispose();
            lock (_commitGate) _pages.Enqueue((_nextOffset, after));
            return false;
        }
        _page = document;
        _pageRecords = fresh;
        _pageIndex = 0;
        _pageAfter = after;
        return true;
    }

    // Strict pacing rather than a token bucket: a bucket's refill timer can fire twice in a row on a busy machine and
    // let two requests through back to back, which APIs that count requests per second punish with 429s.
    private async Task PaceAsync(CancellationToken cancellationToken)
    {
        if (_options.RequestsPerSecond <= 0) return;
        var frequency = System.Diagnostics.Stopwatch.Frequency;
        var period = (long)(frequency / _options.RequestsPerSecond);
        long now;
        while ((now = System.Diagnostics.Stopwatch.GetTimestamp()) < _nextRequestAt)
        {
            // Rounded up to whole milliseconds, so the timer never fires before the slot.
            var wait = Math.Ceiling((_nextRequestAt - now) * 1000.0 / frequency);
            await Task.Delay(TimeSpan.FromMilliseconds(wait), cancellationToken).ConfigureAwait(false);
        }
        // The next slot counts from when this request really starts, so a late start never squeezes the next gap.
        _nextRequestAt = now + period;
    }

    private string? NextToken(JsonElement root, HttpResponseMessage response, string? token, int count)
    {
        switch (_options.Pagination)
        {
            case HttpPagination.NextLink:
                var link = Select(root, SplitPath(_options.NextLinkPath));
                string? next = link.ValueKind == JsonValueKind.String ? link.GetString() : LinkHeaderNext(response);
                if (string.IsNullOrEmpty(next)) return null;
                return new Uri(new Uri(token!), next).AbsoluteUri;
            case HttpPagination.PageNumber:
                if (count == 0 || count < _options.PageSize) return null;
                return (long.Parse(token!, System.Globalization.CultureInfo.InvariantCulture) + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
            case HttpPagination.Cursor:
                var cursor = Select(root, SplitPath(_options.CursorPath));
                var value = cursor.ValueKind switch
                {
                    JsonValueKind.String => cursor.GetString(),
                    JsonValueKind.Number => cursor.GetRawText(),
                    _ => null,
                };
                return string.IsNullOrEmpty(value) || count == 0 ? null : value;
            default:
                return null;
        }
    }

    private static string? LinkHeaderNext(HttpResponseMessage response)
    {
        if (!response.Headers.TryGetValues("Link", out var values)) return null;
        foreach (var part in values.SelectMany(v => v.Split(',')))
        {
            var pieces = part.Split(';');
            if (pieces.Skip(1).Any(p => p.Trim().Replace(" ", "", StringComparison.Ordinal) is "rel=\"next\"" or "rel=next"))
                return pieces[0].Trim().TrimStart('<').TrimEnd('>');
        }
        return null;
    }

    private static string[] SplitPath(string path)
    {
        var p = JsonRowDecoder.NormalizePath(path);
        return p.Length == 0 ? [] : p.Split('.');
    }

    private static JsonElement Select(JsonElement element, string[] path)
    {
        foreach (var name in path)
        {
            if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(name, out element)) return default;
        }
        return element;
    }

    /// <summary>Saves the resume point after the last page whose records are all durable.</summary>
    public void Commit(ReadOnlySpan<SourceRange> ranges)
    {
        var upTo = long.MinValue;
        foreach (var range in ranges) upTo = Math.Max(upTo, range.End);
        ResumePoint? point = null;
        lock (_commitGate)
        {
            while (_pages.Count > 0 && _pages.Peek().EndOffset <= upTo) point = _pages.Dequeue().After;
            if (point is null || point == _checkpoint) return;
            _checkpoint = point;
        }
        if (_options.CheckpointPath is not { } path) return;
        try
        {
            var saved = new SavedCheckpoint(point.Value.Token, point.Value.Skip);
            DurableFolder.WriteAtomically(path, stream => JsonSerializer.Serialize(stream, saved));
        }
        catch (IOException ex)
        {
            _log.Warning($"saving the checkpoint to {path} failed: {ex.Message}");
        }
    }

    /// <inheritdoc/>
    public string Describe(int partition, long offset) => $"{Name} record #{offset}";

    /// <inheritdoc/>
    public ValueTask DisposeAsync()
    {
        _page?.Dispose();
        _page = null;
        _client?.Dispose();
        return ValueTask.CompletedTask;
    }

    private sealed record SavedCheckpoint(string? Token, int Skip);
}

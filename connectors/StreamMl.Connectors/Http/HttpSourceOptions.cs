using Microsoft.Extensions.Logging;
using StreamMl.Engine;

namespace StreamMl.Connectors;

/// <summary>How an HTTP API splits its results into pages.</summary>
public enum HttpPagination
{
    /// <summary>One request returns everything.</summary>
    None,
    /// <summary>Each page holds the URL of the next one (<see cref="HttpSourceOptions.NextLinkPath"/>, or a
    /// <c>Link: &lt;...&gt;; rel="next"</c> header).</summary>
    NextLink,
    /// <summary>Pages are numbered: <c>?page=1</c>, <c>?page=2</c>, ... until a page comes back short or empty.</summary>
    PageNumber,
    /// <summary>Each page holds an opaque cursor (<see cref="HttpSourceOptions.CursorPath"/>) sent as
    /// <c>?cursor=...</c> to get the next page; no cursor means the end.</summary>
    Cursor,
}

/// <summary>Settings of an <see cref="HttpSource"/>.</summary>
public sealed class HttpSourceOptions
{
    /// <summary>Endpoint of the first page. Required.</summary>
    public Uri? Url { get; set; }

    /// <summary>The columns to fill. Required.</summary>
    public Schema Schema { get; set; } = Schema.Empty;

    /// <summary>Path to the array of records in a page: <c>$</c> (default) when the page is the array itself,
    /// or e.g. <c>$.data.items</c>.</summary>
    public string RecordsPath { get; set; } = "$";

    /// <summary>Column name to path inside a record (<c>$.reading.temp</c> or <c>reading.temp</c>); unlisted columns
    /// are read from the record's property of the same name.</summary>
    public Dictionary<string, string> JsonPaths { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Unit of numeric timestamps. Default milliseconds.</summary>
    public TimestampUnit TimestampUnit { get; set; } = TimestampUnit.Milliseconds;

    /// <summary>Timestamp column whose value is the event time; null uses the arrival time.</summary>
    public string? EventTimeColumn { get; set; }

    /// <summary>Pagination style. Default <see cref="HttpPagination.None"/>.</summary>
    public HttpPagination Pagination { get; set; } = HttpPagination.None;

    /// <summary>NextLink: path of the next page's URL in a page (relative URLs are resolved). Default <c>$.next</c>.</summary>
    public string NextLinkPath { get; set; } = "$.next";

    /// <summary>PageNumber: query parameter of the page number. Default <c>page</c>.</summary>
    public string PageParameter { get; set; } = "page";

    /// <summary>PageNumber: number of the first page. Default 1.</summary>
    public int FirstPage { get; set; } = 1;

    /// <summary>PageNumber: query parameter of the page size, or null to send none. Default null.</summary>
    public string? PageSizeParameter { get; set; }

    /// <summary>PageNumber: records per page; a shorter page is the last. Default 100.</summary>
    public int PageSize { get; set; } = 100;

    /// <summary>Cursor: query parameter that carries the cursor. Default <c>cursor</c>.</summary>
    public string CursorParameter { get; set; } = "cursor";

    /// <summary>Cursor: path of the next cursor in a page. Default <c>$.next_cursor</c>.</summary>
    public string CursorPath { get; set; } = "$.next_cursor";

    /// <summary>Bearer token (<c>Authorization: Bearer ...</c>), from an environment variable or file.</summary>
    public Secret? BearerToken { get; set; }

    /// <summary>API key, from an environment variable or file; sent in <see cref="ApiKeyHeader"/> or
    /// <see cref="ApiKeyQueryParameter"/>.</summary>
    public Secret? ApiKey { get; set; }

    /// <summary>Header that carries <see cref="ApiKey"/>. Default <c>X-API-Key</c>.</summary>
    public string ApiKeyHeader { get; set; } = "X-API-Key";

    /// <summary>Query parameter that carries <see cref="ApiKey"/> instead of the header. Default null.</summary>
    public string? ApiKeyQueryParameter { get; set; }

    /// <summary>After the last page: false (default) waits <see cref="PollInterval"/> and asks again for new records;
    /// true ends the source (a bounded pipeline).</summary>
    public bool StopAtEnd { get; set; }

    /// <summary>How long to wait before asking again after the last page. Default 30 s.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Requests per second at most: consecutive requests (retries included) start at least 1/rate apart;
    /// 0 for no limit. Default 5.</summary>
    public double RequestsPerSecond { get; set; } = 5;

    /// <summary>Retries after a 429, 5xx, 408, timeout or network error. Default 6.</summary>
    public int MaxRetryAttempts { get; set; } = 6;

    /// <summary>First retry delay, doubled each attempt with jitter; a <c>Retry-After</c> header wins. Default 500 ms.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Longest retry delay. Default 30 s.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Timeout of one attempt. Default 10 s.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>File that keeps where to resume (the page after the last one whose records are all durable), or null
    /// to start from <see cref="Url"/> every time. Default null.</summary>
    public string? CheckpointPath { get; set; }

    /// <summary>Handler for the HTTP client (proxies, client certificates). Default a SocketsHttpHandler.</summary>
    public HttpMessageHandler? Handler { get; set; }

    /// <summary>Logs; secrets redacted. Default none.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }
}

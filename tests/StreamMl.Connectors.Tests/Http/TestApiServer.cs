using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace StreamMl.Connectors.Tests.Http;

/// <summary>A real HTTP server on 127.0.0.1 (HttpListener) serving paged sensor records three ways (next link, page
/// number, cursor), checking credentials, and answering chosen requests with 429, 500 or a stall.</summary>
internal sealed class TestApiServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<int, string> _faults = new();
    private readonly Task _loop;
    private int _requestCount;

    public TestApiServer(int records, string? bearer = null, string? apiKey = null)
    {
        Records = records;
        Bearer = bearer;
        ApiKey = apiKey;
        Port = FreePort();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public int Port { get; }
    public int Records { get; set; }
    public string? Bearer { get; }
    public string? ApiKey { get; }
    public int PageSize { get; set; } = 100;
    public ConcurrentQueue<(DateTime At, string Path, int Status)> Log { get; } = new();
    public int RequestCount => Volatile.Read(ref _requestCount);

    public Uri Url(string path) => new($"http://127.0.0.1:{Port}{path}");

    /// <summary>Answers request number <paramref name="request"/> (1-based) with "429", "500" or "stall".</summary>
    public void Fault(int request, string kind) => _faults[request] = kind;

    /// <summary>Record <paramref name="i"/> as the server sends it (the test's reference).</summary>
    public static object Record(int i) => new
    {
        id = i,
        sensor = new { name = $"s{i % 4}", temp = Math.Round(18 + i * 0.25, 2) },
        at = DateTime.UnixEpoch.AddSeconds(1_700_000_000 + i).ToString("O", CultureInfo.InvariantCulture),
        tags = new[] { "a", "b" },
    };

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (HttpListenerException)
            {
                return;
            }
            _ = Task.Run(() => HandleAsync(context));
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        var number = Interlocked.Increment(ref _requestCount);
        var arrived = DateTime.UtcNow;
        var request = context.Request;
        var response = context.Response;
        var status = 200;
        try
        {
            if (_faults.TryRemove(number, out var fault))
            {
                switch (fault)
                {
                    case "429":
                        status = 429;
                        response.AddHeader("Retry-After", "1");
                        break;
                    case "500":
                        status = 500;
                        break;
                    case "stall":
                        await Task.Delay(3000);
                        status = 200;
                        break;
                }
                if (status != 200)
                {
                    response.StatusCode = status;
                    response.Close();
                    return;
                }
            }
            if (!Authorized(request))
            {
                status = 401;
                response.StatusCode = 401;
                response.Close();
                return;
            }
            var body = request.Url!.AbsolutePath switch
            {
                "/nextlink" => NextLinkPage(int.Parse(request.QueryString["start"] ?? "0", CultureInfo.InvariantCulture)),
                "/pages" => NumberedPage(int.Parse(request.QueryString["page"]!, CultureInfo.InvariantCulture), int.Parse(request.QueryString["size"] ?? PageSize.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture)),
                "/cursor" => CursorPage(request.QueryString["cursor"]),
                _ => null,
            };
            if (body is null)
            {
                status = 404;
                response.StatusCode = 404;
                response.Close();
                return;
            }
            var bytes = Encoding.UTF8.GetBytes(body);
            response.ContentType = "application/json";
            response.ContentLength64 = bytes.Length;
            await response.OutputStream.WriteAsync(bytes);
            response.Close();
        }
        catch (Exception ex) when (ex is HttpListenerException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            // the client gave up (timeout) before the answer
        }
        finally
        {
            Log.Enqueue((arrived, request.Url!.PathAndQuery, status));
        }
    }

    private bool Authorized(HttpListenerRequest request)
    {
        if (Bearer is not null && request.Headers["Authorization"] != $"Bearer {Bearer}") return false;
        if (ApiKey is not null && request.Headers["X-API-Key"] != ApiKey && request.QueryString["api_key"] != ApiKey) return false;
        return true;
    }

    private string NextLinkPage(int start)
    {
        var end = Math.Min(start + PageSize, Records);
        var items = Enumerable.Range(start, Math.Max(0, end - start)).Select(Record).ToList();
        var next = end < Records ? $"/nextlink?start={end}" : null;
        return JsonSerializer.Serialize(new { data = new { items }, next });
    }

    private string NumberedPage(int page, int size)
    {
        var start = (page - 1) * size;
        var items = Enumerable.Range(start, Math.Max(0, Math.Min(size, Records - start))).Select(Record).ToList();
        return JsonSerializer.Serialize(items);
    }

    private string CursorPage(string? cursor)
    {
        var start = cursor is null ? 0 : int.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(cursor)), CultureInfo.InvariantCulture);
        var end = Math.Min(start + PageSize, Records);
        var items = Enumerable.Range(start, Math.Max(0, end - start)).Select(Record).ToList();
        var next = end < Records ? Convert.ToBase64String(Encoding.UTF8.GetBytes(end.ToString(CultureInfo.InvariantCulture))) : null;
        return JsonSerializer.Serialize(new { results = items, paging = new { next_cursor = next } });
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        _listener.Close();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // stopped
        }
        _stop.Dispose();
    }
}

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using StreamMl.Host.Auth;
using StreamMl.Host.Pipelines;
using StreamMl.Operators.Reporting;

namespace StreamMl.Host.Reporting;

/// <summary><c>GET /report/{pipeline}</c>: the pipeline's monitoring report as an HTML page
/// (<c>?format=json</c>: its JSON). With API keys configured it needs a key with the read role, in the same headers as
/// gRPC (<c>authorization: Bearer KEY</c> or <c>x-api-key: KEY</c>). 404 names the pipelines there are.</summary>
internal static class ReportHttp
{
    public static void MapMonitoringReport(this IEndpointRouteBuilder app) => app.MapGet("/report/{pipeline}", AnswerAsync);

    private static async Task AnswerAsync(HttpContext context)
    {
        var keys = context.RequestServices.GetRequiredService<ApiKeyStore>();
        if (keys.Enabled)
        {
            var headers = context.Request.Headers;
            var authorization = headers.Authorization.ToString();
            var presented = authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? authorization[7..].Trim() : headers["x-api-key"].ToString();
            if (presented.Length == 0 || keys.Find(presented) is null)
            {
                await PlainAsync(context, 401, $"{context.Request.Path} needs an API key with the read role: send header 'authorization: Bearer <key>' or 'x-api-key: <key>'");
                return;
            }
        }
        var manager = context.RequestServices.GetRequiredService<PipelineManager>();
        var name = (string)context.Request.RouteValues["pipeline"]!;
        if (!manager.TryGet(name, out var pipeline))
        {
            var names = manager.All.Select(p => p.Name).ToList();
            await PlainAsync(context, 404, $"there is no pipeline '{name}'; " + (names.Count == 0 ? "the host runs none" : $"it runs: {string.Join(", ", names)}"));
            return;
        }
        var report = PipelineReport.Build(pipeline);
        var json = context.Request.Query["format"].ToString() == "json";
        context.Response.ContentType = json ? "application/json; charset=utf-8" : "text/html; charset=utf-8";
        await context.Response.WriteAsync(json ? report.ToJson() : ReportHtml.Render(report), context.RequestAborted);
    }

    private static Task PlainAsync(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(message + "\n", context.RequestAborted);
    }
}

using System.Globalization;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using StreamMl.Host.Hosting;

namespace StreamMl.Host.Grpc;

/// <summary>Rewrites grpc-dotnet's message-size errors ("Received message exceeds the maximum configured message
/// size.") so that they name the limit in bytes and the setting that raises it, and adds an ErrorInfo
/// (<c>MESSAGE_TOO_LARGE</c>). grpc-dotnet checks the size before any interceptor runs, so this is middleware: it edits
/// the status after the call, in the headers of a trailers-only answer or in the trailers.</summary>
internal sealed class LimitMessages(RequestDelegate next, IOptions<StreamMlOptions> options)
{
    private const string ReceivedTooLarge = "Received message exceeds the maximum configured message size.";
    private const string SendingTooLarge = "Sending message exceeds the maximum configured message size.";

    public async Task InvokeAsync(HttpContext context)
    {
        await next(context).ConfigureAwait(false);
        if (!context.Request.ContentType?.StartsWith("application/grpc", StringComparison.Ordinal) ?? true) return;
        if (!context.Response.HasStarted) Rewrite(context.Response.Headers, context.Request.Path);
        else if (context.Features.Get<IHttpResponseTrailersFeature>()?.Trailers is { IsReadOnly: false } trailers) Rewrite(trailers, context.Request.Path);
    }

    private void Rewrite(IHeaderDictionary status, PathString method)
    {
        if (status["grpc-status"] != ((int)StatusCode.ResourceExhausted).ToString(CultureInfo.InvariantCulture)) return;
        var text = Uri.UnescapeDataString(status["grpc-message"].ToString());
        var (limit, setting, direction) = text switch
        {
            ReceivedTooLarge => (options.Value.MaxReceiveMessageBytes, "max-receive-message-size", "the request"),
            SendingTooLarge => (options.Value.MaxSendMessageBytes, "max-send-message-size", "the response"),
            _ => (0, "", ""),
        };
        if (limit == 0) return;
        var message = $"{method}: a message of {direction} is larger than the host's limit of {limit} bytes ({setting}); " +
            $"send smaller messages (split the rows), or raise the limit with --{setting} or STREAMML_{setting.Replace('-', '_').ToUpperInvariant()}";
        var details = ErrorDetails.Build(StatusCode.ResourceExhausted, message, ErrorDetails.Reasons.MessageTooLarge, new()
        {
            ["limit"] = limit.ToString(CultureInfo.InvariantCulture),
            ["setting"] = setting,
        });
        status["grpc-message"] = Uri.EscapeDataString(message);
        status["grpc-status-details-bin"] = Convert.ToBase64String(details.ToByteArray());
    }
}

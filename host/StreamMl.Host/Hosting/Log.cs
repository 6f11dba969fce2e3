using Microsoft.Extensions.Logging;

namespace StreamMl.Host.Hosting;

/// <summary>The host's log messages, source-generated, with fixed event ids (1xxx pipelines, 2xxx server, 3xxx auth).</summary>
internal static partial class Log
{
    [LoggerMessage(1001, LogLevel.Information, "Pipeline {Pipeline} created: source {Source}, {Operators} operator(s), {Sinks} sink(s)")]
    public static partial void PipelineCreated(ILogger logger, string pipeline, string source, int operators, int sinks);

    [LoggerMessage(1002, LogLevel.Information, "Pipeline {Pipeline} started")]
    public static partial void PipelineStarted(ILogger logger, string pipeline);

    [LoggerMessage(1003, LogLevel.Information, "Pipeline {Pipeline} ended: {State} {Error}")]
    public static partial void PipelineEnded(ILogger logger, string pipeline, string state, string error);

    [LoggerMessage(1004, LogLevel.Information, "Pipeline {Pipeline} deleted")]
    public static partial void PipelineDeleted(ILogger logger, string pipeline);

    [LoggerMessage(1005, LogLevel.Information, "Model {Model} deployed to pipeline {Pipeline} as {Role}")]
    public static partial void ModelDeployed(ILogger logger, string model, string pipeline, string role);

    [LoggerMessage(1006, LogLevel.Warning, "Alert on pipeline {Pipeline}: {Message}")]
    public static partial void DriftAlert(ILogger logger, string pipeline, string message);

    [LoggerMessage(2001, LogLevel.Information, "gRPC host listening on {Address} (authentication {Auth})")]
    public static partial void Listening(ILogger logger, string address, string auth);

    [LoggerMessage(2002, LogLevel.Warning, "{Method} answered {Status}: {Message}")]
    public static partial void CallFailed(ILogger logger, string method, string status, string message);

    [LoggerMessage(2003, LogLevel.Error, "{Method} failed inside the host")]
    public static partial void CallCrashed(ILogger logger, string method, Exception exception);

    [LoggerMessage(3001, LogLevel.Warning, "{Method} refused: {Reason}")]
    public static partial void AuthRefused(ILogger logger, string method, string reason);

    [LoggerMessage(3002, LogLevel.Information, "Authentication enabled with {Keys} key(s)")]
    public static partial void AuthEnabled(ILogger logger, int keys);

    [LoggerMessage(1501, LogLevel.Information, "Rollout on pipeline {Pipeline}: {Candidate} {Action} (candidate share {Weight}): {Reason}")]
    public static partial void RolloutTransition(ILogger logger, string pipeline, string candidate, string action, double weight, string reason);

    [LoggerMessage(1502, LogLevel.Information, "Retrain on pipeline {Pipeline}: {Action}: {Reason}")]
    public static partial void RetrainStep(ILogger logger, string pipeline, string action, string reason);
}

using System.CommandLine;
using Grpc.Core;
using Grpc.Health.V1;

namespace StreamMl.Host.Cli;

/// <summary><c>streamml health</c>: asks a host's grpc.health.v1 service, for container health checks and readiness
/// probes without a separate probe binary. Exit 0 when SERVING, 1 when NOT_SERVING, 4 when nothing answers, 6 for an
/// unknown service name.</summary>
internal static class HealthCommand
{
    public static Command Create()
    {
        var address = new Option<string>("--address")
        {
            Description = "Host address (default http://127.0.0.1:STREAMML_PORT, else port 50051)",
            DefaultValueFactory = _ => "http://127.0.0.1:" + (Environment.GetEnvironmentVariable("STREAMML_PORT") is { Length: > 0 } port ? port : "50051"),
        };
        var service = new Option<string>("--service")
        {
            Description = "Service to ask about: \"\" (the host: up and its startup pipelines running), pipeline/NAME, model/NAME[@VERSION]",
            DefaultValueFactory = _ => "",
        };
        var timeout = new Option<double>("--timeout") { Description = "Seconds to wait for the answer", DefaultValueFactory = _ => 3 };
        var command = new Command("health", "Check a running host's health (grpc.health.v1); exit 0 when serving") { address, service, timeout };
        command.SetAction(async (parse, ct) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var addr = parse.GetValue(address)!;
            var name = parse.GetValue(service)!;
            try
            {
                using var channel = HostClient.Open(addr, apiKey: null);
                var answer = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest { Service = name },
                    deadline: DateTime.UtcNow.AddSeconds(parse.GetValue(timeout)), cancellationToken: ct);
                output.WriteLine($"{(name.Length == 0 ? "host" : name)}: {answer.Status}");
                return answer.Status == HealthCheckResponse.Types.ServingStatus.Serving ? ExitCodes.Ok : ExitCodes.Failed;
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.DeadlineExceeded)
            {
                parse.InvocationConfiguration.Error.WriteLine($"error: no answer from {addr} within {parse.GetValue(timeout)} s");
                return ExitCodes.Unavailable;
            }
            catch (RpcException ex)
            {
                return HostClient.Report(ex, addr, parse.InvocationConfiguration.Error);
            }
        });
        return command;
    }
}

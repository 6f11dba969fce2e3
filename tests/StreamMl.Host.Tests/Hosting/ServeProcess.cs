using System.Text.RegularExpressions;
using Grpc.Core;
using Grpc.Net.Client;
using StreamMl.Host.Tests.Kafka;

namespace StreamMl.Host.Tests.Hosting;

/// <summary>A <c>streamml serve</c> process on an ephemeral port: a host that a crash really ends, unlike one inside
/// the test process.</summary>
internal sealed partial class ServeProcess : IDisposable
{
    private readonly List<GrpcChannel> _channels = [];

    private ServeProcess(StreamMlProcess process, string address)
    {
        Process = process;
        Address = address;
    }

    public StreamMlProcess Process { get; }

    /// <summary>The gRPC address the process printed.</summary>
    public string Address { get; }

    /// <summary>Starts <c>streamml serve --port 0 --metrics-port -1</c> with <paramref name="arguments"/> and waits for
    /// its "listening on" line (or its exit, which fails the test with its output).</summary>
    public static async Task<ServeProcess> StartAsync(params string[] arguments)
    {
        var process = StreamMlProcess.Start("serve", ["serve", "--port", "0", "--metrics-port", "-1", .. arguments]);
        var line = await WaitForLineAsync(process, l => Listening().IsMatch(l), TimeSpan.FromSeconds(60));
        if (line is null)
        {
            var output = string.Join('\n', process.Lines);
            process.Dispose();
            throw new Xunit.Sdk.XunitException($"streamml serve did not start:\n{output}");
        }
        return new ServeProcess(process, Listening().Match(line).Groups["address"].Value);
    }

    /// <summary>The first output line that matches, or null when the process exits or the time runs out first.</summary>
    public static async Task<string?> WaitForLineAsync(StreamMlProcess process, Func<string, bool> match, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (process.Lines.FirstOrDefault(match) is { } line) return line;
            if (process.HasExited)
            {
                // Output may still be arriving after the exit.
                await process.WaitForExitAsync(TimeSpan.FromSeconds(5));
                return process.Lines.FirstOrDefault(match);
            }
            await Task.Delay(50);
        }
        return null;
    }

    /// <summary>A channel that sends <paramref name="key"/> as a bearer token (or nothing when null).</summary>
    public GrpcChannel Channel(string? key = null, int maxSendBytes = 64 << 20)
    {
        var options = new GrpcChannelOptions { MaxReceiveMessageSize = 64 << 20, MaxSendMessageSize = maxSendBytes };
        if (key is not null)
        {
            options.Credentials = ChannelCredentials.Create(ChannelCredentials.Insecure, CallCredentials.FromInterceptor((_, metadata) =>
            {
                metadata.Add("authorization", $"Bearer {key}");
                return Task.CompletedTask;
            }));
            options.UnsafeUseInsecureChannelCallCredentials = true;
        }
        var channel = GrpcChannel.ForAddress(Address, options);
        _channels.Add(channel);
        return channel;
    }

    public void Dispose()
    {
        foreach (var channel in _channels) channel.Dispose();
        Process.Dispose();
    }

    [GeneratedRegex(@"streamml host listening on (?<address>http://[^,\s]+)")]
    private static partial Regex Listening();
}

using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace StreamMl.Connectors.Tests.Mqtt;

/// <summary>A mosquitto process of the test's own (the shared one must not be stopped), for broker-restart and
/// credential tests. Needs the Debian mosquitto package, which scripts/services.sh installs.</summary>
internal sealed class PrivateBroker : IDisposable
{
    private readonly string _dir;
    private Process? _process;

    private PrivateBroker(string dir, int port)
    {
        _dir = dir;
        Port = port;
    }

    public int Port { get; }

    public static string? Binary => new[] { "/usr/sbin/mosquitto", "/usr/bin/mosquitto" }.FirstOrDefault(File.Exists);

    /// <summary>Returns when mosquitto is installed; otherwise skips the test (fails it in CI=true), saying how to
    /// install it. Call it first in a <c>[SkippableFact]</c>.</summary>
    public static void RequireMosquitto() =>
        Requirement.That(Binary is not null, "mosquitto is not installed; run `source scripts/services.sh; services_start` (it installs it)");

    public static PrivateBroker Start(string? user = null, string? password = null)
    {
        var dir = Directory.CreateTempSubdirectory("streamml-mqtt-").FullName;
        var port = FreePort();
        // As a deployment must: mosquitto otherwise drops QoS 1 messages queued beyond 1,000 above those in flight,
        // which a pipeline that acknowledges only durable rows reaches whenever its sink is slower than the producers.
        var config = new List<string> { $"listener {port} 127.0.0.1", "persistence false", "user root", "max_inflight_messages 0", "max_queued_messages 0" };
        if (user is not null)
        {
            var passwd = Path.Combine(dir, "passwd");
            Run("mosquitto_passwd", "-b", "-c", passwd, user, password!);
            config.Add("allow_anonymous false");
            config.Add($"password_file {passwd}");
        }
        else config.Add("allow_anonymous true");
        File.WriteAllLines(Path.Combine(dir, "mosquitto.conf"), config);
        var broker = new PrivateBroker(dir, port);
        broker.Resume();
        return broker;
    }

    /// <summary>Starts (again) the broker on the same port.</summary>
    public void Resume()
    {
        var info = new ProcessStartInfo(Binary ?? throw new InvalidOperationException("mosquitto is not installed (apt-get install mosquitto)"), ["-c", Path.Combine(_dir, "mosquitto.conf")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        _process = Process.Start(info)!;
        var until = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < until)
        {
            try
            {
                using var client = new TcpClient();
                client.Connect(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                Thread.Sleep(50);
            }
        }
        throw new InvalidOperationException("mosquitto did not start: " + _process.StandardError.ReadToEnd());
    }

    /// <summary>Kills the broker (clients see the connection drop).</summary>
    public void Stop()
    {
        if (_process is null) return;
        _process.Kill();
        _process.WaitForExit();
        _process.Dispose();
        _process = null;
    }

    public void Dispose()
    {
        Stop();
        Directory.Delete(_dir, recursive: true);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static void Run(string file, params string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"{file} failed: {process.StandardError.ReadToEnd()}");
    }
}

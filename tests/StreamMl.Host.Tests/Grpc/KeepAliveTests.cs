using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using StreamMl.Host.Hosting;

namespace StreamMl.Host.Tests.Grpc;

/// <summary>The documented HTTP/2 keep-alive settings (<c>--keepalive-ping-delay</c>, <c>--keepalive-ping-timeout</c>)
/// really reach Kestrel: a raw HTTP/2 client, written here from RFC 9113's framing, opens a connection, acknowledges
/// the server's SETTINGS and then never answers a PING. The host pings it after the idle delay and closes the
/// connection once the timeout has passed; the same client answering every PING keeps its connection.</summary>
public sealed class KeepAliveTests
{
    private const byte Settings = 0x4, Ping = 0x6, GoAway = 0x7, Ack = 0x1;
    private static readonly TimeSpan Delay = TimeSpan.FromSeconds(1), Timeout = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task A_client_that_does_not_answer_pings_is_disconnected_after_the_configured_timeout()
    {
        await using var server = await StreamMlServer.StartAsync(new StreamMlOptions
        {
            Port = 0, MetricsPort = -1, KeepAlivePingDelay = Delay, KeepAlivePingTimeout = Timeout,
        });
        using var silent = await OpenAsync(server.Address);
        var clock = Stopwatch.StartNew();
        TimeSpan? firstPing = null;
        TimeSpan? closed = null;
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            var frame = await ReadFrameAsync(silent);
            if (frame is null)
            {
                closed = clock.Elapsed;
                break;
            }
            if (frame.Value.Type == Ping && (frame.Value.Flags & Ack) == 0) firstPing ??= clock.Elapsed;
        }
        Assert.NotNull(firstPing);
        Assert.NotNull(closed);
        // Kestrel checks keep-alive on its 1 s heartbeat: the close comes at least the timeout after the first ping
        // (less one heartbeat) and well before the 20 s default would have allowed.
        Assert.InRange(closed!.Value - firstPing!.Value, Timeout - TimeSpan.FromSeconds(1), Timeout + TimeSpan.FromSeconds(8));
    }

    [Fact]
    public async Task A_client_that_answers_pings_keeps_its_connection()
    {
        await using var server = await StreamMlServer.StartAsync(new StreamMlOptions
        {
            Port = 0, MetricsPort = -1, KeepAlivePingDelay = Delay, KeepAlivePingTimeout = Timeout,
        });
        using var polite = await OpenAsync(server.Address);
        var pings = 0;
        // Answered pings: the connection outlives several delay + timeout periods.
        while (pings < 4)
        {
            var frame = await ReadFrameAsync(polite);
            Assert.True(frame is not null, $"the host closed a connection that answered {pings} ping(s)");
            Assert.NotEqual(GoAway, frame!.Value.Type);
            if (frame.Value.Type != Ping || (frame.Value.Flags & Ack) != 0) continue;
            pings++;
            await WriteFrameAsync(polite, Ping, Ack, frame.Value.Payload);
        }
    }

    private static async Task<TcpClient> OpenAsync(string address)
    {
        var uri = new Uri(address);
        var client = new TcpClient();
        await client.ConnectAsync(uri.Host, uri.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
        await WriteFrameAsync(client, Settings, 0, []);
        // The server's SETTINGS must be acknowledged, or it closes the connection for that instead.
        while (await ReadFrameAsync(client) is { } frame)
        {
            if (frame.Type != Settings || (frame.Flags & Ack) != 0) continue;
            await WriteFrameAsync(client, Settings, Ack, []);
            return client;
        }
        throw new InvalidOperationException("the host closed the connection before sending its SETTINGS");
    }

    private static async Task WriteFrameAsync(TcpClient client, byte type, byte flags, byte[] payload)
    {
        var frame = new byte[9 + payload.Length];
        frame[0] = (byte)(payload.Length >> 16);
        frame[1] = (byte)(payload.Length >> 8);
        frame[2] = (byte)payload.Length;
        (frame[3], frame[4]) = (type, flags);
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(5), 0); // stream 0: connection frames
        payload.CopyTo(frame, 9);
        await client.GetStream().WriteAsync(frame);
    }

    /// <summary>The next frame, or null when the host closed the connection.</summary>
    private static async Task<(byte Type, byte Flags, byte[] Payload)?> ReadFrameAsync(TcpClient client)
    {
        var header = new byte[9];
        if (!await ReadExactlyAsync(client, header)) return null;
        var payload = new byte[(header[0] << 16) | (header[1] << 8) | header[2]];
        if (!await ReadExactlyAsync(client, payload)) return null;
        return (header[3], header[4], payload);
    }

    private static async Task<bool> ReadExactlyAsync(TcpClient client, byte[] buffer)
    {
        try
        {
            await client.GetStream().ReadExactlyAsync(buffer);
            return true;
        }
        catch (Exception ex) when (ex is EndOfStreamException or IOException)
        {
            return false;
        }
    }
}

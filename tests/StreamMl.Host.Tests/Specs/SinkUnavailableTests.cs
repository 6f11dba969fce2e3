using System.Net;
using System.Net.Sockets;
using StreamMl.Host.Cli;
using Xunit.Abstractions;

namespace StreamMl.Host.Tests.Specs;

/// <summary>A sink whose database is down when the run starts ends the run with one line in the user's words.</summary>
public sealed class SinkUnavailableTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_run_whose_database_is_down_ends_with_one_plain_error_naming_the_sink()
    {
        var folder = Directory.CreateTempSubdirectory("streamml-pgdown-").FullName;
        try
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var closedPort = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            File.WriteAllText(Path.Combine(folder, "in.csv"), "a,b\n1,2\n3,4\n");
            var spec = Path.Combine(folder, "down.yaml");
            File.WriteAllText(spec, $$"""
                name: database-down
                source: { kind: file, path: in.csv, format: csv }
                sinks:
                  - kind: postgres
                    connection: "Host=127.0.0.1;Port={{closedPort}};Database=plant;Username=writer"
                    table: readings
                """);
            var stdout = new StringWriter();
            var stderr = new StringWriter();

            var code = await CliApp.RunAsync(["run", spec, "--plain"], stdout, stderr);
            output.WriteLine(stderr.ToString());

            Assert.Equal(ExitCodes.Failed, code);
            Assert.Contains($"error: pipeline in down.yaml could not start: postgres sink 127.0.0.1:{closedPort}/plant table readings: could not create the table",
                stderr.ToString());
            Assert.DoesNotContain("   at ", stderr.ToString() + stdout);
            Assert.DoesNotContain("Exception", stderr.ToString());
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}

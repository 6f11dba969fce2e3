using Grpc.Core;
using Grpc.Health.V1;
using StreamMl.Host.Auth;
using StreamMl.Host.Protos;
using StreamMl.Host.Tests.Kafka;

namespace StreamMl.Host.Tests.Hosting;

/// <summary>Configuration the host cannot use stops it from starting with a message, and a spec that would crash the
/// parser is refused while the process lives on; both checked on real <c>streamml</c> processes.</summary>
public sealed class HostStartupTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("streamml-startup-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>Lists nested <paramref name="levels"/> deep: <c>[[[...]]]</c>.</summary>
    private static string Deep(int levels) => new string('[', levels) + new string(']', levels) + "\n";

    /// <summary>Mappings nested <paramref name="levels"/> deep: <c>{a: {a: ... 1}}</c>.</summary>
    private static string DeepMappings(int levels) => string.Concat(Enumerable.Repeat("{a: ", levels)) + "1" + new string('}', levels) + "\n";

    [Theory]
    // 100,000 lists and 30,000 mappings overflowed the stack of `streamml validate` (exit code 134) on the old code;
    // the 65th collection is where the limit is reached: column 65 of "[[[", column 4 × 64 + 1 of "{a: {a: ".
    [InlineData("lists", 100_000, 65)]
    [InlineData("mappings", 30_000, 257)]
    public async Task Validate_of_a_deeply_nested_spec_exits_3_with_the_line_and_column(string kind, int levels, int column)
    {
        var path = Path.Combine(_folder, "deep.yaml");
        File.WriteAllText(path, kind == "lists" ? Deep(levels) : DeepMappings(levels));
        using var process = StreamMlProcess.Start("validate", "validate", path);
        Assert.True(await process.WaitForExitAsync(TimeSpan.FromSeconds(60)), "validate did not finish");
        var output = string.Join('\n', process.Lines);
        Assert.True(process.ExitCode == 3, $"exit code {process.ExitCode}: {output[..Math.Min(output.Length, 400)]}");
        Assert.Contains($"{path}:1:{column}: error: the spec nests mappings and lists more than 64 levels deep here", output);
    }

    [Fact]
    public async Task Validate_of_a_spec_over_one_MiB_names_where_the_limit_is_reached()
    {
        var path = Path.Combine(_folder, "big.yaml");
        // 40,000 lines of 30 characters: the 1 MiB limit falls inside line 34,953 (1,048,576 / 30 = 34,952.5).
        File.WriteAllText(path, "name: big\ndescription: |\n" + string.Concat(Enumerable.Repeat("  " + new string('x', 27) + "\n", 40_000)));
        using var process = StreamMlProcess.Start("validate", "validate", path);
        Assert.True(await process.WaitForExitAsync(TimeSpan.FromSeconds(60)), "validate did not finish");
        var output = string.Join('\n', process.Lines);
        Assert.Equal(3, process.ExitCode);
        var text = File.ReadAllText(path);
        var line = text.AsSpan(0, 1 << 20).Count('\n') + 1;
        Assert.Contains($"{path}:{line}:", output);
        Assert.Contains($"the spec is {text.Length:N0} characters long; a spec may have at most 1,048,576", output);
    }

    [Fact]
    public async Task A_deep_spec_sent_to_CreatePipeline_is_invalid_and_the_host_keeps_serving()
    {
        using var host = await ServeProcess.StartAsync();
        var control = new Control.ControlClient(host.Channel());
        var ex = await Assert.ThrowsAsync<RpcException>(() => control.CreatePipelineAsync(new CreatePipelineRequest { Spec = "name: deep\nsource: " + Deep(300_000) }).ResponseAsync);
        // Before: the host process died of a stack overflow inside YamlDotNet and the call failed with UNAVAILABLE.
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        // The root mapping is level 1, so the 64th '[' (after "source: ") is level 65.
        Assert.Contains($"line 2, column {"source: ".Length + 64}: the spec nests mappings and lists more than 64 levels deep", ex.Status.Detail);
        Assert.False(host.Process.HasExited);
        var health = await new Health.HealthClient(host.Channel()).CheckAsync(new HealthCheckRequest());
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
        await control.ListPipelinesAsync(new ListPipelinesRequest());
    }

    [Theory]
    [InlineData("admin:", "--api-key 1 (admin): the key is empty")]
    [InlineData("admin:sha256=", "--api-key 1 (admin): sha256= must be followed by the 64 hex digits of the key's SHA-256 (streamml serve --hash-key KEY prints them), got nothing")]
    [InlineData("admin:sha256=zz12", "--api-key 1 (admin): sha256= must be followed by the 64 hex digits")]
    [InlineData("admin:sha256=not-hex-not-hex-not-hex-not-hex-not-hex-not-hex-not-hex-not-hex-", "--api-key 1 (admin): sha256= must be followed by the 64 hex digits")]
    public async Task Serve_refuses_to_start_with_a_key_it_could_never_match(string key, string message)
    {
        using var process = StreamMlProcess.Start("serve", "serve", "--port", "0", "--metrics-port", "-1", "--api-key", "read:fine", "--api-key", key);
        // Before: the host started and answered every call, health checks included, with UNKNOWN.
        Assert.True(await process.WaitForExitAsync(TimeSpan.FromSeconds(60)), "serve started instead of refusing the key");
        var output = string.Join('\n', process.Lines);
        Assert.Equal(2, process.ExitCode);
        Assert.Contains(message.Replace("--api-key 1", "error: --api-key 2"), output);
        Assert.DoesNotContain("listening", output);
    }

    [Fact]
    public async Task Serve_refuses_an_unusable_line_of_an_api_key_file_naming_the_line()
    {
        var path = Path.Combine(_folder, "keys.txt");
        File.WriteAllText(path, "# keys\nadmin:first\n\nscore:sha256=abc\n");
        using var process = StreamMlProcess.Start("serve", "serve", "--port", "0", "--metrics-port", "-1", "--api-key-file", path);
        Assert.True(await process.WaitForExitAsync(TimeSpan.FromSeconds(60)), "serve started instead of refusing the key file");
        Assert.Equal(2, process.ExitCode);
        Assert.Contains($"error: {path}:4 (score): sha256= must be followed by the 64 hex digits", string.Join('\n', process.Lines));
    }

    [Fact]
    public async Task Serve_with_an_api_key_file_checks_each_key_and_its_role()
    {
        const string admin = "admin-from-file";
        const string reader = "reader-from-file";
        var path = Path.Combine(_folder, "keys.txt");
        var readerHash = Convert.ToHexString(ApiKeyStore.HashKey(reader)).ToLowerInvariant();
        File.WriteAllText(path, $"# one key per line\nadmin:{admin}\n\n  read:sha256={readerHash}  \n");
        using var host = await ServeProcess.StartAsync("--api-key-file", path);

        await new Control.ControlClient(host.Channel(admin)).ListPipelinesAsync(new ListPipelinesRequest());
        var denied = await Assert.ThrowsAsync<RpcException>(() => new Control.ControlClient(host.Channel(reader)).ListPipelinesAsync(new ListPipelinesRequest()).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);
        var unknown = await Assert.ThrowsAsync<RpcException>(() => new Control.ControlClient(host.Channel("admin")).ListPipelinesAsync(new ListPipelinesRequest()).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, unknown.StatusCode);
        var health = await new Health.HealthClient(host.Channel()).CheckAsync(new HealthCheckRequest());
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
    }
}

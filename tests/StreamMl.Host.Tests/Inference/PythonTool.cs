using StreamMl.Host.Tests.Node;
using StreamMl.Testing;

namespace StreamMl.Host.Tests.Inference;

/// <summary>Debian's Python 3 with python3-grpcio and python3-grpc-tools, for clients the host did not write. Missing
/// modules skip the test outside CI and fail it in CI (<see cref="Requirement"/>).</summary>
internal static class PythonTool
{
    public const string Python = "/usr/bin/python3";

    /// <summary>The repository's root, once Python with grpc and grpc_tools is known to be there.</summary>
    public static async Task<string> RequireAsync()
    {
        var root = Root();
        var has = File.Exists(Python) && (await NodeTool.RunAsync(Python, ["-c", "import grpc, grpc_tools.protoc"], root)).Code == 0;
        Requirement.That(has, "Python gRPC is missing: apt-get install python3-grpcio python3-grpc-tools (scripts/test.sh does it)");
        return root;
    }

    public static string Root()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "StreamMl.sln"))) return dir.FullName;
        throw new InvalidOperationException("StreamMl.sln not found above " + AppContext.BaseDirectory);
    }
}

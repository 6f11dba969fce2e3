using Akka.Actor;
using Akka.Streams;

namespace StreamMl.Benchmarks.Harness.Scenarios;

/// <summary>One actor system per process for the Akka.Streams peers: starting one takes about a second, which is setup, not work.</summary>
internal static class AkkaSystem
{
    private static readonly Lazy<IMaterializer> s_materializer = new(() =>
        ActorSystem.Create("streamml-bench", "akka.loglevel = WARNING\nakka.stdout-loglevel = WARNING").Materializer());

    public static IMaterializer Materializer => s_materializer.Value;
}

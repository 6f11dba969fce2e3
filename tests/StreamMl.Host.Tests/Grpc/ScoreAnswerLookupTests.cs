using Microsoft.Extensions.DependencyInjection;
using StreamMl.Host.Auth;
using StreamMl.Host.Grpc;
using StreamMl.Host.Hosting;
using StreamMl.Host.Models;

namespace StreamMl.Host.Tests.Grpc;

/// <summary>What Score looks up for every row it answers (which deployed version answered, and its role) finds what
/// enumerating the deployment finds, without allocating; and the gRPC interceptors are built once, not per call.</summary>
public sealed class ScoreAnswerLookupTests
{
    private static ModelEntry Entry(string name, string version) => new(name, version, "linear", ["x"],
        () => new LinearModel(new Dictionary<string, double> { ["x"] = 1 }, 0, true), new Dictionary<string, double>(), new Dictionary<string, string>());

    /// <summary>Every role filled, and one id deployed twice (a shadow that is also the previous primary), so the
    /// first match in the enumeration order is what counts.</summary>
    private static (ModelDeployments.Snapshot Deployment, ModelEntry[] Others) Deployment()
    {
        var (primary, candidate, shadow, previous) = (Entry("a", "2"), Entry("b", "1"), Entry("c", "1"), Entry("a", "1"));
        var twin = Entry("a", "1");
        return (new ModelDeployments.Snapshot(primary, candidate, 0.3, [shadow, twin], previous), [Entry("a", "2"), Entry("z", "9")]);
    }

    [Fact]
    public void FindById_and_VariantOf_agree_with_enumerating_the_deployment()
    {
        var (deployment, others) = Deployment();
        var deployed = ModelSelector.Deployed(deployment).ToList();
        foreach (var id in deployed.Select(d => d.Entry.Id).Append("z@9").Append(""))
        {
            var expected = deployed.Select(d => d.Entry).FirstOrDefault(e => e.Id == id);
            Assert.Same(expected, ModelSelector.FindById(deployment, id));
        }
        foreach (var entry in deployed.Select(d => d.Entry).Concat(others))
        {
            var expected = deployed.FirstOrDefault(d => ReferenceEquals(d.Entry, entry)).Variant ?? "";
            Assert.Equal(expected, ModelSelector.VariantOf(deployment, entry));
        }
        Assert.Equal(ModelSelector.Shadow, ModelSelector.VariantOf(deployment, deployment.Shadows[1]));
        Assert.Same(deployment.Shadows[1], ModelSelector.FindById(deployment, "a@1")); // the shadow comes before the previous primary
    }

    [Fact]
    public void Looking_up_the_answering_version_and_its_role_allocates_nothing()
    {
        var (deployment, _) = Deployment();
        var previous = deployment.Previous!;
        var found = 0;
        void Lookup()
        {
            if (ModelSelector.FindById(deployment, "c@1") is { } entry && ModelSelector.VariantOf(deployment, entry).Length > 0) found++;
            if (ModelSelector.VariantOf(deployment, previous) == ModelSelector.Previous) found++;
        }
        Lookup();

        Assert.Equal(0, SteadyState.AllocatedBytes(Lookup, 1000));
        Assert.True(found > 1000);
    }

    [Fact]
    public async Task The_interceptors_are_built_once_for_every_call()
    {
        await using var server = await StreamMlServer.StartAsync(new StreamMlOptions { Port = 0, MetricsPort = -1 });
        foreach (var type in new[] { typeof(AuthInterceptor), typeof(StreamLimitInterceptor), typeof(ErrorInterceptor) })
            Assert.Same(server.Services.GetService(type), server.Services.GetService(type) ?? throw new Xunit.Sdk.XunitException($"{type.Name} is not registered"));
    }
}

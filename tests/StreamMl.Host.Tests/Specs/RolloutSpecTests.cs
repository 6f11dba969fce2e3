using StreamMl.Host.Cli;
using StreamMl.Host.Models;
using StreamMl.Host.Specs;

namespace StreamMl.Host.Tests.Specs;

/// <summary>The <c>model.rollout</c> section: a good one validates; bad steps, values and keys are reported at their
/// line and column in the user's words.</summary>
public sealed class RolloutSpecTests : IDisposable
{
    private static readonly SpecCompiler s_compiler = new(ComponentRegistry.CreateDefault(), CatalogWithCandidate());

    /// <summary>A catalog holding lin@2, the candidate the specs roll out (lin@1 is inline in the spec).</summary>
    private static ModelCatalog CatalogWithCandidate()
    {
        var catalog = new ModelCatalog();
        catalog.Register(new ModelEntry("lin", "2", "linear", ["x"], () => new LinearModel(new Dictionary<string, double> { ["x"] = 2 }, 0, true),
            new Dictionary<string, double>(), new Dictionary<string, string>()));
        return catalog;
    }
    private readonly string _dir = Directory.CreateTempSubdirectory("streamml-rollout-spec-").FullName;

    public RolloutSpecTests() => File.WriteAllText(Path.Combine(_dir, "a.csv"), "x,y\n1.5,1\n");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private IReadOnlyList<SpecError> Validate(string rollout) => ValidateCommand.Validate(s_compiler, $$"""
        name: r
        source: { kind: file, path: a.csv, columns: { x: float64, y: float64 } }
        model:
          kind: linear
          name: lin
          weights: { x: 1 }
          label: y
          rollout: {{rollout}}
        """, _dir);

    [Fact]
    public void A_rollout_with_every_setting_validates_and_a_missing_candidate_is_named()
    {
        Assert.Contains("model 'lin' version '9' is not in the registry", Assert.Single(Validate("""{ candidate: "9" }""")).Message);
        Assert.Empty(Validate("""{ candidate: "2", steps: [0, 5%, 0.25], min_rows: 500, min_duration: 2m, max_duration: 1h, min_labels: 300, max_error_rate: 0.02, max_latency_ratio: 3, max_score_psi: 0.3, max_score_ks: 0.25, max_metric_drop: 0.01, alpha: 0.05 }"""));
    }

    [Theory]
    [InlineData("""{ candidate: "2", steps: [0, 1] }""", "steps[1] is 1")]
    [InlineData("""{ candidate: "2", steps: [0, half] }""", "holds 'half'")]
    [InlineData("""{ candidate: "2", min_duration: soon }""", "must be a duration")]
    [InlineData("""{ candidate: "2", min_duration: 2h, max_duration: 1h }""", "must be longer than min_duration")]
    [InlineData("""{ candidate: "2", canary: 5% }""", "unknown key 'canary' in model.rollout")]
    [InlineData("""{ steps: [0] }""", "'model.rollout.candidate' is required")]
    public void Mistakes_are_reported_at_their_line(string rollout, string message)
    {
        var errors = Validate(rollout);
        var error = Assert.Single(errors, e => e.Message.Contains(message, StringComparison.Ordinal));
        Assert.Equal(8, error.Line);
    }
}

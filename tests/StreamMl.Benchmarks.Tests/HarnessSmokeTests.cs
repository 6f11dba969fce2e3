using StreamMl.Benchmarks.Harness;

namespace StreamMl.Benchmarks.Tests;

/// <summary>CI's check of the harness: every scenario starts and produces a result in a tiny run. No timing is asserted.</summary>
public sealed class HarnessSmokeTests
{
    public static TheoryData<string> ScenarioIds()
    {
        var data = new TheoryData<string>();
        foreach (var scenario in HarnessProgram.Scenarios()) data.Add(scenario.Id);
        return data;
    }

    [SkippableTheory]
    [MemberData(nameof(ScenarioIds))]
    public async Task Scenario_runs_every_variant_and_reports_rows(string id)
    {
        var scenario = HarnessProgram.Scenarios().Single(s => s.Id == id);
        Requirement.That(scenario.Unavailable is null, $"{id} cannot run on this machine: {scenario.Unavailable}");
        var log = new StringWriter();
        var result = await ScenarioRunner.RunAsync(scenario, ScenarioSize.Smoke, rounds: 1, log);

        Assert.Equal(scenario.Variants.Select(v => v.Name), result.Medians.Select(m => m.Variant));
        Assert.All(result.Medians, m => Assert.True(m.Rows > 0, $"{m.Variant} processed no rows"));
        Assert.Single(result.Medians, m => m.IsStreamMl);
        var table = ScenarioRunner.ToMarkdown(result);
        Assert.All(scenario.Variants, v => Assert.Contains(v.Name, table));
    }

    [Fact]
    public async Task Tuning_views_cover_every_sweep()
    {
        var points = await TuningViews.RunAsync(ScenarioSize.Smoke, TextWriter.Null);
        Assert.Equal(["batch size", "wait strategy", "parallel pipelines", "scoring workers", "ring size"], points.Select(p => p.Sweep).Distinct());
        Assert.All(points, p => Assert.True(p.RowsPerSecond > 0 && p.P99Micros > 0, $"{p.Sweep} {p.Setting}"));
    }

    [Fact]
    public async Task Unknown_scenario_is_refused_with_the_list_of_scenarios()
    {
        var log = new StringWriter();
        Assert.Equal(2, await HarnessProgram.RunAsync(["S99", "--smoke"], log));
        Assert.Contains("S1", log.ToString());
    }
}

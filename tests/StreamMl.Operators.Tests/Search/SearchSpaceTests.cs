using StreamMl.Operators.Learners;
using StreamMl.Operators.Search;

namespace StreamMl.Operators.Tests.Search;

public sealed class SearchSpaceTests
{
    [Fact]
    public void A_neighbours_steps_are_centred_on_the_best_configuration_with_the_documented_spread()
    {
        var space = new SearchSpace(["lightgbm"], seed: 5, threads: 1, classes: null, learnerSeed: 42);
        var best = new LearnerOptions
        {
            Trainer = "lightgbm", NumberOfTrees = 3000, EarlyStoppingRounds = 20, NumberOfLeaves = 30, LearningRate = 0.05,
            MinimumExampleCountPerLeaf = 40, FeatureFraction = 0.7, L2Regularization = 0.5f, Threads = 1, Seed = 42,
        };
        var steps = new List<double>();
        for (var i = 0; i < 2000; i++)
        {
            var near = space.Near(best);
            Assert.Equal(best with { NumberOfLeaves = near.NumberOfLeaves, LearningRate = near.LearningRate, MinimumExampleCountPerLeaf = near.MinimumExampleCountPerLeaf,
                FeatureFraction = near.FeatureFraction, L2Regularization = near.L2Regularization }, near);
            Assert.InRange(near.LearningRate!.Value, 0.01, 0.3);
            Assert.InRange(near.NumberOfLeaves!.Value, 4, 128);
            Assert.InRange(near.FeatureFraction!.Value, 0.3, 1);
            steps.Add(Math.Log(near.LearningRate.Value / best.LearningRate.Value));
        }
        var mean = steps.Average();
        var std = Math.Sqrt(steps.Sum(s => (s - mean) * (s - mean)) / (steps.Count - 1));
        // 2,000 draws: the mean's standard error is 0.4 / √2000 ≈ 0.009 (rounding to 4 decimals adds < 1e-3).
        Assert.InRange(mean, -0.04, 0.04);
        Assert.InRange(std, SearchSpace.NeighbourStep * 0.9, SearchSpace.NeighbourStep * 1.1);
    }

    [Fact]
    public void A_logistic_regressions_neighbour_switches_l1_and_the_normaliser_one_time_in_five()
    {
        var space = new SearchSpace(["lr"], seed: 9, threads: null, classes: null, learnerSeed: 1);
        var best = new LearnerOptions { Trainer = "lr", L1Regularization = 0, L2Regularization = 2, Normalize = false };
        var draws = Enumerable.Range(0, 2000).Select(_ => space.Near(best)).ToList();
        var l1On = draws.Count(d => d.L1Regularization > 0) / 2000.0;
        var normalised = draws.Count(d => d.Normalize == true) / 2000.0;
        // Binomial(2000, 0.2): standard deviation 0.009.
        Assert.InRange(l1On, 0.16, 0.24);
        Assert.InRange(normalised, 0.16, 0.24);
        Assert.All(draws, d => Assert.InRange(d.L2Regularization!.Value, 0.01f, 100f));
    }

    [Fact]
    public void Random_logistic_regressions_cover_l1_on_and_off_and_both_normalisations()
    {
        var space = new SearchSpace(["lr"], seed: 2, threads: null, classes: null, learnerSeed: 1);
        var draws = Enumerable.Range(0, 400).Select(_ => space.Next()).ToList();
        Assert.Contains(draws, d => d.L1Regularization == 0);
        Assert.Contains(draws, d => d.L1Regularization > 0);
        Assert.Contains(draws, d => d.Normalize == true);
        Assert.Contains(draws, d => d.Normalize == false);
        Assert.All(draws, d => Assert.InRange(d.L2Regularization!.Value, 0.01f, 100f));
    }
}

using StreamMl.Operators.Learners;

namespace StreamMl.Operators.Search;

/// <summary>Candidate trainers and hyper-parameters: first each trainer with a configuration known to work (the cheap,
/// safe start FLAML also uses), then random draws, trainers in turn, sizes and rates on log scales.</summary>
internal sealed class SearchSpace(IReadOnlyList<string> trainers, int seed, int? threads, int? classes, int learnerSeed)
{
    /// <summary>Early-stopping patience of every boosted candidate.</summary>
    public const int EarlyStoppingRounds = 20;

    private readonly Random _random = new(seed);
    private int _defaultsGiven;
    private int _turn;

    public LearnerOptions Next()
    {
        if (_defaultsGiven < trainers.Count) return Default(trainers[_defaultsGiven++]);
        return Random(trainers[_turn++ % trainers.Count]);
    }

    private LearnerOptions Base(string trainer) => new() { Trainer = trainer, Threads = threads, Classes = classes, Seed = learnerSeed };

    private LearnerOptions Default(string trainer) => trainer switch
    {
        "lightgbm" => Base(trainer) with
        {
            NumberOfTrees = 3000, NumberOfLeaves = 16, LearningRate = 0.05, MinimumExampleCountPerLeaf = 20, EarlyStoppingRounds = EarlyStoppingRounds,
        },
        "lr" => Base(trainer) with { L2Regularization = 1f },
        _ => Base(trainer),
    };

    private LearnerOptions Random(string trainer) => trainer switch
    {
        "lightgbm" => Base(trainer) with
        {
            NumberOfTrees = 3000,
            EarlyStoppingRounds = EarlyStoppingRounds,
            NumberOfLeaves = LogInt(4, 128),
            LearningRate = LogUniform(0.01, 0.3),
            MinimumExampleCountPerLeaf = LogInt(5, 200),
            FeatureFraction = Math.Round(0.5 + 0.5 * _random.NextDouble(), 2),
            L2Regularization = (float)LogUniform(1e-3, 10),
        },
        "fasttree" => Base(trainer) with
        {
            NumberOfTrees = LogInt(50, 500),
            NumberOfLeaves = LogInt(4, 64),
            LearningRate = LogUniform(0.02, 0.4),
            MinimumExampleCountPerLeaf = LogInt(5, 100),
        },
        "fastforest" => Base(trainer) with
        {
            NumberOfTrees = LogInt(50, 300),
            NumberOfLeaves = LogInt(8, 128),
            MinimumExampleCountPerLeaf = LogInt(2, 50),
        },
        "lr" => Base(trainer) with { L2Regularization = (float)LogUniform(1e-4, 10) },
        "sdca" => Base(trainer) with { L2Regularization = (float)LogUniform(1e-4, 1), MaximumIterations = LogInt(10, 100) },
        _ => Base(trainer),
    };

    private double LogUniform(double low, double high) =>
        Math.Round(Math.Exp(Math.Log(low) + _random.NextDouble() * (Math.Log(high) - Math.Log(low))), 4);

    private int LogInt(int low, int high) => (int)Math.Round(LogUniform(low, high));
}

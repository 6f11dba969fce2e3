using StreamMl.Operators.Learners;

namespace StreamMl.Operators.Search;

/// <summary>Candidate trainers and hyper-parameters: first a small portfolio of configurations known to be cheap and
/// good on several data sets (FLAML's low-cost start and AutoGluon's portfolios), then random draws (trainers in turn,
/// sizes and rates on log scales) and neighbours of the best configuration so far (CFO's local search).</summary>
internal sealed class SearchSpace(IReadOnlyList<string> trainers, int seed, int? threads, int? classes, int learnerSeed)
{
    /// <summary>Early-stopping patience of every boosted candidate.</summary>
    public const int EarlyStoppingRounds = 20;

    /// <summary>Standard deviation of a neighbour's step in log space (about ×1.5 per hyper-parameter).</summary>
    public const double NeighbourStep = 0.4;

    private readonly Random _random = new(seed);
    private int _turn;

    /// <summary>The portfolio for the trainers, the first configuration of every trainer before any trainer's second.
    /// LightGBM: (a) 16 leaves, rate 0.1, min leaf 100, feature fraction 0.5, L2 5 — the best credit configuration,
    /// cheap because it stops after ~60 trees; (b) 64 leaves, rate 0.05, min leaf 10, feature fraction 0.7, L2 1 — larger
    /// trees, the region that wins on California housing. lr: (a) L2 only (l1 0, l2 1) on the pipeline's features with no
    /// normaliser — scikit-learn's LogisticRegression(C=1), which wins on one-hot churn data; (b) ML.NET's default
    /// (l1 1, l2 1, normalised). Every other trainer: ML.NET's defaults.</summary>
    public IReadOnlyList<LearnerOptions> Portfolio()
    {
        var lists = trainers.Select(PortfolioOf).ToList();
        var portfolio = new List<LearnerOptions>();
        for (var position = 0; position < lists.Max(l => l.Length); position++)
            portfolio.AddRange(lists.Where(l => position < l.Length).Select(l => l[position]));
        return portfolio;
    }

    private LearnerOptions[] PortfolioOf(string trainer) => trainer switch
    {
        "lightgbm" =>
        [
            Base(trainer) with
            {
                NumberOfTrees = 3000, EarlyStoppingRounds = EarlyStoppingRounds,
                NumberOfLeaves = 16, LearningRate = 0.1, MinimumExampleCountPerLeaf = 100, FeatureFraction = 0.5, L2Regularization = 5f,
            },
            Base(trainer) with
            {
                NumberOfTrees = 3000, EarlyStoppingRounds = EarlyStoppingRounds,
                NumberOfLeaves = 64, LearningRate = 0.05, MinimumExampleCountPerLeaf = 10, FeatureFraction = 0.7, L2Regularization = 1f,
            },
        ],
        "lr" =>
        [
            Base(trainer) with { L1Regularization = 0f, L2Regularization = 1f, Normalize = false },
            Base(trainer) with { L1Regularization = 1f, L2Regularization = 1f, Normalize = true },
        ],
        _ => [Base(trainer)],
    };

    /// <summary>A random configuration of the next trainer in turn.</summary>
    public LearnerOptions Next() => Random(trainers[_turn++ % trainers.Count]);

    private LearnerOptions Base(string trainer) => new() { Trainer = trainer, Threads = threads, Classes = classes, Seed = learnerSeed };

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
        "lr" => Base(trainer) with
        {
            L2Regularization = (float)LogUniform(1e-2, 100),
            L1Regularization = _random.NextDouble() < 0.5 ? 0f : (float)LogUniform(1e-2, 10),
            Normalize = _random.NextDouble() < 0.5,
        },
        "sdca" => Base(trainer) with { L2Regularization = (float)LogUniform(1e-4, 1), MaximumIterations = LogInt(10, 100) },
        _ => Base(trainer),
    };

    /// <summary>A neighbour of <paramref name="best"/>: the same trainer, every tuned number moved by a random step of
    /// <see cref="NeighbourStep"/> in log space (feature fraction by ±0.1), kept within the random draws' ranges; lr's L1
    /// is switched off or on and its normaliser flipped one time in five. Trainers without tuned numbers get a random
    /// configuration.</summary>
    public LearnerOptions Near(LearnerOptions best) => best.Trainer switch
    {
        "lightgbm" => best with
        {
            NumberOfLeaves = StepInt(best.NumberOfLeaves ?? 16, 4, 128),
            LearningRate = Step(best.LearningRate ?? 0.1, 0.01, 0.3),
            MinimumExampleCountPerLeaf = StepInt(best.MinimumExampleCountPerLeaf ?? 20, 5, 200),
            FeatureFraction = Math.Round(Math.Clamp((best.FeatureFraction ?? 1) + 0.1 * Gaussian(), 0.3, 1), 2),
            L2Regularization = (float)Step(best.L2Regularization ?? 0.01, 1e-3, 10),
        },
        "fasttree" => best with
        {
            NumberOfTrees = StepInt(best.NumberOfTrees ?? 100, 50, 500),
            NumberOfLeaves = StepInt(best.NumberOfLeaves ?? 20, 4, 64),
            LearningRate = Step(best.LearningRate ?? 0.2, 0.02, 0.4),
            MinimumExampleCountPerLeaf = StepInt(best.MinimumExampleCountPerLeaf ?? 10, 5, 100),
        },
        "fastforest" => best with
        {
            NumberOfTrees = StepInt(best.NumberOfTrees ?? 100, 50, 300),
            NumberOfLeaves = StepInt(best.NumberOfLeaves ?? 20, 8, 128),
            MinimumExampleCountPerLeaf = StepInt(best.MinimumExampleCountPerLeaf ?? 10, 2, 50),
        },
        "lr" => best with
        {
            L2Regularization = (float)Step(best.L2Regularization ?? 1, 1e-2, 100),
            L1Regularization = NearL1(best.L1Regularization ?? 1),
            Normalize = _random.NextDouble() < 0.2 ? best.Normalize is false : best.Normalize ?? true,
        },
        "sdca" => best with
        {
            L2Regularization = (float)Step(best.L2Regularization ?? 1e-2, 1e-4, 1),
            MaximumIterations = StepInt(best.MaximumIterations ?? 30, 10, 100),
        },
        _ => Random(best.Trainer),
    };

    private float NearL1(float l1)
    {
        if (_random.NextDouble() < 0.2) return l1 == 0 ? (float)LogUniform(1e-2, 10) : 0f;
        return l1 == 0 ? 0f : (float)Step(l1, 1e-2, 10);
    }

    private double Step(double value, double low, double high) =>
        Math.Round(Math.Clamp(Math.Exp(Math.Log(value) + NeighbourStep * Gaussian()), low, high), 4);

    private int StepInt(int value, int low, int high) => (int)Math.Round(Step(value, low, high));

    private double Gaussian() => Math.Sqrt(-2 * Math.Log(1 - _random.NextDouble())) * Math.Cos(2 * Math.PI * _random.NextDouble());

    private double LogUniform(double low, double high) =>
        Math.Round(Math.Exp(Math.Log(low) + _random.NextDouble() * (Math.Log(high) - Math.Log(low))), 4);

    private int LogInt(int low, int high) => (int)Math.Round(LogUniform(low, high));
}

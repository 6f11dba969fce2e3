namespace StreamMl.Images.Heads;

/// <summary>How an <see cref="MlpHead"/> is trained; every default is the one the caltech20 run in docs/images.md used.</summary>
public sealed record MlpHeadOptions
{
    /// <summary>Units of the hidden ReLU layer (default 256).</summary>
    public int Hidden { get; init; } = 256;

    /// <summary>Passes over the training rows (default 60).</summary>
    public int Epochs { get; init; } = 60;

    /// <summary>Adam step size (default 0.001).</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>L2 weight decay added to the gradient of every weight, not the biases (default 0.001).</summary>
    public double L2 { get; init; } = 1e-3;

    /// <summary>Rows per Adam step (default 32).</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Seed of the weight initialisation and of the row order of each epoch (default 42).</summary>
    public int Seed { get; init; } = 42;
}

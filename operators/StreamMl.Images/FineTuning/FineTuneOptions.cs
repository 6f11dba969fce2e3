namespace StreamMl.Images.FineTuning;

/// <summary>How the last residual blocks and the head are fine-tuned.</summary>
public sealed record FineTuneOptions
{
    /// <summary>Most passes over the training images (early stopping may end sooner).</summary>
    public int Epochs { get; init; } = 8;

    /// <summary>Peak learning rate of SGD with momentum; it follows a cosine from here to 0 over <see cref="Epochs"/>.</summary>
    public double LearningRate { get; init; } = 0.003;

    /// <summary>SGD momentum.</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>L2 weight decay on weights (not biases).</summary>
    public double WeightDecay { get; init; } = 1e-4;

    /// <summary>Images per step.</summary>
    public int BatchSize { get; init; } = 16;

    /// <summary>How many of the backbone's last basic blocks are unfrozen (the packaged ResNet18's last stage has 3:
    /// a strided block with a 1×1 downsample and two identity blocks).</summary>
    public int Blocks { get; init; } = 3;

    /// <summary>Augmented views (random resized crop + horizontal flip) computed per training image up front; each
    /// epoch uses one of them per image.</summary>
    public int Views { get; init; } = 3;

    /// <summary>Smallest area fraction of a random resized crop.</summary>
    public double MinCropScale { get; init; } = 0.35;

    /// <summary>Stratified fraction of the training images kept out for early stopping.</summary>
    public double ValidationFraction { get; init; } = 0.15;

    /// <summary>Epochs without a better validation score before stopping.</summary>
    public int Patience { get; init; } = 3;

    /// <summary>Seed of the split, the augmentation and the shuffling.</summary>
    public int Seed { get; init; } = 42;
}

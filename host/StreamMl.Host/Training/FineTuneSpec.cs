using StreamMl.Images.FineTuning;

namespace StreamMl.Host.Training;

/// <summary>Images: fine-tuning of the backbone's last basic blocks and the head after the frozen head is trained
/// (see docs/images.md); unset keys take <see cref="FineTuneOptions"/>' defaults.</summary>
public sealed class FineTuneSpec
{
    /// <summary>Most epochs (early stopping may end sooner).</summary>
    public int? Epochs { get; set; }
    /// <summary>Peak SGD learning rate (cosine decay to 0).</summary>
    public double? LearningRate { get; set; }
    /// <summary>SGD momentum.</summary>
    public double? Momentum { get; set; }
    /// <summary>Weight decay on weights.</summary>
    public double? WeightDecay { get; set; }
    /// <summary>Images per step.</summary>
    public int? Batch { get; set; }
    /// <summary>Basic blocks unfrozen, counted from the end (3 = ResNet18's whole last stage).</summary>
    public int? Blocks { get; set; }
    /// <summary>Augmented views per training image.</summary>
    public int? Views { get; set; }
    /// <summary>Smallest area share of a random resized crop.</summary>
    public double? MinCropScale { get; set; }
    /// <summary>Share of the training images kept for early stopping.</summary>
    public double? Validation { get; set; }
    /// <summary>Epochs without improvement before stopping.</summary>
    public int? Patience { get; set; }

    /// <summary>The options, seeded with the validation seed.</summary>
    public FineTuneOptions ToOptions(int seed)
    {
        var defaults = new FineTuneOptions();
        return new FineTuneOptions
        {
            Epochs = Epochs ?? defaults.Epochs,
            LearningRate = LearningRate ?? defaults.LearningRate,
            Momentum = Momentum ?? defaults.Momentum,
            WeightDecay = WeightDecay ?? defaults.WeightDecay,
            BatchSize = Batch ?? defaults.BatchSize,
            Blocks = Blocks ?? defaults.Blocks,
            Views = Views ?? defaults.Views,
            MinCropScale = MinCropScale ?? defaults.MinCropScale,
            ValidationFraction = Validation ?? defaults.ValidationFraction,
            Patience = Patience ?? defaults.Patience,
            Seed = seed,
        };
    }
}

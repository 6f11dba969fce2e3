using StreamMl.Engine;
using StreamMl.Images.Heads;

namespace StreamMl.Host.Training;

/// <summary>The head of an image classifier: <c>linear</c> (the trainer's softmax regression) or <c>mlp</c> (one hidden
/// ReLU layer, <see cref="MlpHead"/>); unset numbers take <see cref="MlpHeadOptions"/>' defaults.</summary>
public sealed class HeadSpec
{
    /// <summary>linear or mlp (default mlp when a head section is given).</summary>
    public string Kind { get; set; } = "mlp";

    /// <summary>Hidden units (default 256).</summary>
    public int? Hidden { get; set; }

    /// <summary>Passes over the training embeddings (default 60).</summary>
    public int? Epochs { get; set; }

    /// <summary>Adam step size (default 0.001).</summary>
    public double? LearningRate { get; set; }

    /// <summary>L2 weight decay (default 0.001).</summary>
    public double? L2 { get; set; }

    /// <summary>Rows per Adam step (default 32).</summary>
    public int? BatchSize { get; set; }

    /// <summary>True for an MLP head.</summary>
    public bool IsMlp => Kind.Equals("mlp", StringComparison.OrdinalIgnoreCase);

    /// <summary>The trainer options, with <paramref name="seed"/> (the spec's validation seed).</summary>
    public MlpHeadOptions Options(int seed)
    {
        var defaults = new MlpHeadOptions();
        return new MlpHeadOptions
        {
            Hidden = Hidden ?? defaults.Hidden,
            Epochs = Epochs ?? defaults.Epochs,
            LearningRate = LearningRate ?? defaults.LearningRate,
            L2 = L2 ?? defaults.L2,
            BatchSize = BatchSize ?? defaults.BatchSize,
            Seed = seed,
        };
    }

    internal void Check(string source, string dataKind)
    {
        if (!Kind.Equals("linear", StringComparison.OrdinalIgnoreCase) && !IsMlp)
            throw new StreamMlException($"{source}: head.kind '{Kind}' is not linear or mlp");
        if (dataKind != "images") throw new StreamMlException($"{source}: 'head' is for image data (data.kind: images)");
        if (Hidden is < 1 or > 8192) throw new StreamMlException($"{source}: head.hidden must be between 1 and 8192 units");
        if (Epochs is < 1) throw new StreamMlException($"{source}: head.epochs must be 1 or more");
        if (LearningRate is not null and not > 0) throw new StreamMlException($"{source}: head.learningRate must be above 0");
        if (L2 is < 0) throw new StreamMlException($"{source}: head.l2 must be 0 or more");
        if (BatchSize is < 1) throw new StreamMlException($"{source}: head.batchSize must be 1 or more");
    }
}

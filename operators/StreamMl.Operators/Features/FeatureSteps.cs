using System.Text.Json.Serialization;
using StreamMl.Operators.Features.Internal;

namespace StreamMl.Operators.Features;

/// <summary>One step of a <see cref="FeaturePipeline"/>: fitted on training data, then applied to every batch. The
/// public properties are the step's configuration and fitted state, exactly as saved in the pipeline's JSON.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind")]
[JsonDerivedType(typeof(PassthroughStep), "passthrough")]
[JsonDerivedType(typeof(ImputeStep), "impute")]
[JsonDerivedType(typeof(StandardScaleStep), "standard_scale")]
[JsonDerivedType(typeof(MinMaxScaleStep), "min_max_scale")]
[JsonDerivedType(typeof(RobustScaleStep), "robust_scale")]
[JsonDerivedType(typeof(Log1pStep), "log1p")]
[JsonDerivedType(typeof(ClipStep), "clip")]
[JsonDerivedType(typeof(BinStep), "bin")]
[JsonDerivedType(typeof(OneHotStep), "one_hot")]
[JsonDerivedType(typeof(HashStep), "hash")]
[JsonDerivedType(typeof(CategoryCodeStep), "category_code")]
[JsonDerivedType(typeof(PcaStep), "pca")]
[JsonDerivedType(typeof(DeriveStep), "derive")]
public abstract class FeatureStep
{
    private protected FeatureStep() { }

    /// <summary>Resolves the features the step reads (loading raw columns the first time they are named).</summary>
    internal abstract void DeclareInputs(FeatureLayout layout);

    /// <summary>Computes the fitted state from the frame's rows (all training rows at once).</summary>
    internal virtual void Fit(FeatureFrame frame) { }

    /// <summary>Declares the features the step creates; called after <see cref="Fit"/> because one-hot widths depend on it.</summary>
    internal virtual void DeclareOutputs(FeatureLayout layout) { }

    /// <summary>Computes the step for the frame's rows.</summary>
    internal abstract void Apply(FeatureFrame frame);

    /// <summary>Short description for errors and docs.</summary>
    public abstract override string ToString();
}

/// <summary>A step that rewrites one numeric feature in place.</summary>
public abstract class ColumnStep : FeatureStep
{
    private protected int _slot;

    private protected ColumnStep() { }

    /// <summary>The feature the step rewrites; named after the raw column it was loaded from.</summary>
    public string Column { get; set; } = "";

    internal override void DeclareInputs(FeatureLayout layout) => _slot = layout.Use(Column);

    /// <inheritdoc/>
    public override string ToString() => $"{GetType().Name.Replace("Step", "", StringComparison.Ordinal)}({Column})";
}

/// <summary>Loads a raw numeric or bool column as a feature unchanged.</summary>
public sealed class PassthroughStep : ColumnStep
{
    internal override void Apply(FeatureFrame frame) { }
}

/// <summary>How <see cref="ImputeStep"/> chooses its fill value.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ImputeStrategy>))]
public enum ImputeStrategy
{
    /// <summary>The mean of the non-missing training values.</summary>
    Mean,
    /// <summary>The median of the non-missing training values.</summary>
    Median,
    /// <summary>The configured <see cref="ImputeStep.Value"/>.</summary>
    Constant,
}

/// <summary>Replaces missing values (nulls, NaN) by a mean, median or constant.</summary>
public sealed class ImputeStep : ColumnStep
{
    /// <summary>How the fill value is chosen.</summary>
    public ImputeStrategy Strategy { get; set; }

    /// <summary>The fill value: configured for <see cref="ImputeStrategy.Constant"/>, fitted otherwise (0 when every
    /// training value was missing).</summary>
    public float Value { get; set; }

    internal override void Fit(FeatureFrame frame)
    {
        var x = frame.Read(_slot);
        Value = Strategy switch
        {
            ImputeStrategy.Mean => (float)FitStatistics.MeanStd(x).Mean,
            ImputeStrategy.Median => (float)FitStatistics.Quantile(FitStatistics.Sorted(x), 0.5),
            _ => Value,
        };
    }

    internal override void Apply(FeatureFrame frame) => FeatureKernels.ReplaceNaN(frame.Read(_slot), frame.Write(_slot), Value);
}

/// <summary>Standard scaling: (x - mean) / std with the population deviation; a constant column is only centred.</summary>
public sealed class StandardScaleStep : ColumnStep
{
    /// <summary>Fitted mean.</summary>
    public float Mean { get; set; }

    /// <summary>Fitted population standard deviation.</summary>
    public float Std { get; set; }

    internal override void Fit(FeatureFrame frame)
    {
        var (mean, std, _) = FitStatistics.MeanStd(frame.Read(_slot));
        Mean = (float)mean;
        Std = (float)std;
    }

    internal override void Apply(FeatureFrame frame) =>
        FeatureKernels.ShiftScale(frame.Read(_slot), frame.Write(_slot), Mean, Std > 0 ? 1f / Std : 1f);
}

/// <summary>Min-max scaling to [0, 1] over the training range; a constant column becomes 0.</summary>
public sealed class MinMaxScaleStep : ColumnStep
{
    /// <summary>Fitted minimum.</summary>
    public float Min { get; set; }

    /// <summary>Fitted maximum.</summary>
    public float Max { get; set; }

    internal override void Fit(FeatureFrame frame) => (Min, Max) = FitStatistics.MinMax(frame.Read(_slot));

    internal override void Apply(FeatureFrame frame) =>
        FeatureKernels.ShiftScale(frame.Read(_slot), frame.Write(_slot), Min, Max > Min ? 1f / (Max - Min) : 1f);
}

/// <summary>Robust scaling: (x - median) / (upper quantile - lower quantile), by default the inter-quartile range.</summary>
public sealed class RobustScaleStep : ColumnStep
{
    /// <summary>Lower quantile of the range. Default 0.25.</summary>
    public double LowerQuantile { get; set; } = 0.25;

    /// <summary>Upper quantile of the range. Default 0.75.</summary>
    public double UpperQuantile { get; set; } = 0.75;

    /// <summary>Fitted median.</summary>
    public float Median { get; set; }

    /// <summary>Fitted quantile range; a zero range leaves the values only centred.</summary>
    public float Range { get; set; }

    internal override void Fit(FeatureFrame frame)
    {
        var sorted = FitStatistics.Sorted(frame.Read(_slot));
        Median = (float)FitStatistics.Quantile(sorted, 0.5);
        Range = (float)(FitStatistics.Quantile(sorted, UpperQuantile) - FitStatistics.Quantile(sorted, LowerQuantile));
    }

    internal override void Apply(FeatureFrame frame) =>
        FeatureKernels.ShiftScale(frame.Read(_slot), frame.Write(_slot), Median, Range > 0 ? 1f / Range : 1f);
}

/// <summary>ln(1 + x); values below -1 become NaN.</summary>
public sealed class Log1pStep : ColumnStep
{
    internal override void Apply(FeatureFrame frame) => FeatureKernels.Log1p(frame.Read(_slot), frame.Write(_slot));
}

/// <summary>Clamps to [Min, Max], either configured or fitted as training quantiles (winsorising).</summary>
public sealed class ClipStep : ColumnStep
{
    /// <summary>Lower bound (configured, or fitted from <see cref="LowerQuantile"/>).</summary>
    public float Min { get; set; } = float.NegativeInfinity;

    /// <summary>Upper bound (configured, or fitted from <see cref="UpperQuantile"/>).</summary>
    public float Max { get; set; } = float.PositiveInfinity;

    /// <summary>When set, <see cref="Min"/> is fitted as this quantile of the training values.</summary>
    public double? LowerQuantile { get; set; }

    /// <summary>When set, <see cref="Max"/> is fitted as this quantile of the training values.</summary>
    public double? UpperQuantile { get; set; }

    internal override void Fit(FeatureFrame frame)
    {
        if (LowerQuantile is null && UpperQuantile is null) return;
        var sorted = FitStatistics.Sorted(frame.Read(_slot));
        if (LowerQuantile is { } lo) Min = (float)FitStatistics.Quantile(sorted, lo);
        if (UpperQuantile is { } hi) Max = (float)FitStatistics.Quantile(sorted, hi);
    }

    internal override void Apply(FeatureFrame frame) => FeatureKernels.Clip(frame.Read(_slot), frame.Write(_slot), Min, Max);
}

/// <summary>How <see cref="BinStep"/> places its edges.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<BinStrategy>))]
public enum BinStrategy
{
    /// <summary>Edges at training quantiles: bins of (about) equal counts.</summary>
    Quantile,
    /// <summary>Edges evenly spaced between the training minimum and maximum.</summary>
    Uniform,
}

/// <summary>Replaces a value by its bin index 0..Edges.Length (the number of edges at or below it); NaN stays NaN.</summary>
public sealed class BinStep : ColumnStep
{
    /// <summary>Bins wanted. Default 10. Quantile bins may end up fewer when training values repeat.</summary>
    public int Bins { get; set; } = 10;

    /// <summary>Edge placement. Default <see cref="BinStrategy.Quantile"/>.</summary>
    public BinStrategy Strategy { get; set; }

    /// <summary>Fitted inner edges, ascending and distinct.</summary>
    public float[] Edges { get; set; } = [];

    internal override void Fit(FeatureFrame frame)
    {
        if (Bins < 2) throw new FeaturePipelineException($"Bin({Column}) needs at least 2 bins, got {Bins}");
        var edges = new SortedSet<float>();
        if (Strategy == BinStrategy.Quantile)
        {
            var sorted = FitStatistics.Sorted(frame.Read(_slot));
            for (var i = 1; i < Bins; i++) edges.Add((float)FitStatistics.Quantile(sorted, (double)i / Bins));
        }
        else
        {
            var (min, max) = FitStatistics.MinMax(frame.Read(_slot));
            for (var i = 1; i < Bins; i++) edges.Add((float)(min + ((double)max - min) * i / Bins));
        }
        Edges = [.. edges];
    }

    internal override void Apply(FeatureFrame frame) => FeatureKernels.Bin(frame.Read(_slot), frame.Write(_slot), Edges);
}

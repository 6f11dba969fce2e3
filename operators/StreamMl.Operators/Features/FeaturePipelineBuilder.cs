namespace StreamMl.Operators.Features;

/// <summary>Describes a <see cref="FeaturePipeline"/> step by step. A numeric step names a feature; the first step that
/// names it loads it from the raw column of the same name (any numeric or bool type, nulls as NaN), later steps keep
/// rewriting it. Categorical steps (one-hot, hashing) read raw string or integer columns and add features.</summary>
public sealed class FeaturePipelineBuilder
{
    private readonly List<FeatureStep> _steps = [];
    private readonly string _name;
    private string _prefix = "f_";

    internal FeaturePipelineBuilder(string name) => _name = name;

    /// <summary>Output columns are named <paramref name="prefix"/> + feature name. Default "f_".</summary>
    public FeaturePipelineBuilder ColumnPrefix(string prefix)
    {
        _prefix = prefix;
        return this;
    }

    /// <summary>Loads each column as a feature unchanged (it still needs to be a numeric or bool column).</summary>
    public FeaturePipelineBuilder Passthrough(params string[] columns)
    {
        foreach (var c in columns) _steps.Add(new PassthroughStep { Column = c });
        return this;
    }

    /// <summary>Fills missing values with the training mean or median.</summary>
    public FeaturePipelineBuilder Impute(string column, ImputeStrategy strategy = ImputeStrategy.Mean) =>
        Add(new ImputeStep { Column = column, Strategy = strategy });

    /// <summary>Fills missing values with <paramref name="value"/>.</summary>
    public FeaturePipelineBuilder ImputeConstant(string column, float value) =>
        Add(new ImputeStep { Column = column, Strategy = ImputeStrategy.Constant, Value = value });

    /// <summary>(x - mean) / std.</summary>
    public FeaturePipelineBuilder StandardScale(params string[] columns)
    {
        foreach (var c in columns) _steps.Add(new StandardScaleStep { Column = c });
        return this;
    }

    /// <summary>(x - min) / (max - min).</summary>
    public FeaturePipelineBuilder MinMaxScale(params string[] columns)
    {
        foreach (var c in columns) _steps.Add(new MinMaxScaleStep { Column = c });
        return this;
    }

    /// <summary>(x - median) / (q_upper - q_lower), by default the inter-quartile range.</summary>
    public FeaturePipelineBuilder RobustScale(string column, double lowerQuantile = 0.25, double upperQuantile = 0.75) =>
        Add(new RobustScaleStep { Column = column, LowerQuantile = lowerQuantile, UpperQuantile = upperQuantile });

    /// <summary>ln(1 + x).</summary>
    public FeaturePipelineBuilder Log1p(params string[] columns)
    {
        foreach (var c in columns) _steps.Add(new Log1pStep { Column = c });
        return this;
    }

    /// <summary>Clamps to [min, max].</summary>
    public FeaturePipelineBuilder Clip(string column, float min, float max) =>
        Add(new ClipStep { Column = column, Min = min, Max = max });

    /// <summary>Clamps to the training quantiles [lowerQuantile, upperQuantile] (winsorising).</summary>
    public FeaturePipelineBuilder ClipQuantiles(string column, double lowerQuantile, double upperQuantile) =>
        Add(new ClipStep { Column = column, LowerQuantile = lowerQuantile, UpperQuantile = upperQuantile });

    /// <summary>Replaces the value by its bin index.</summary>
    public FeaturePipelineBuilder Bin(string column, int bins = 10, BinStrategy strategy = BinStrategy.Quantile) =>
        Add(new BinStep { Column = column, Bins = bins, Strategy = strategy });

    /// <summary>One-hot encodes a string or integer-coded category column, with an unknown bucket.</summary>
    public FeaturePipelineBuilder OneHot(string column, int maxCategories = 64) =>
        Add(new OneHotStep { Column = column, MaxCategories = maxCategories });

    /// <summary>Hashes a string or integer column into <paramref name="buckets"/> count features.</summary>
    public FeaturePipelineBuilder Hash(string column, int buckets = 32) =>
        Add(new HashStep { Column = column, Buckets = buckets });

    /// <summary>Projects features onto their first <paramref name="components"/> principal components.</summary>
    public FeaturePipelineBuilder Pca(string[] columns, int components, string prefix = "pca", bool keepInputs = false) =>
        Add(new PcaStep { Columns = columns, Components = components, Prefix = prefix, KeepInputs = keepInputs });

    /// <summary>Adds feature <paramref name="name"/> = <paramref name="expression"/>, one operation <c>a op b</c> (op one of
    /// + - * / with spaces around it; a and b feature names or numbers), e.g. <c>Derive("rooms_per_household",
    /// "total_rooms / households")</c>. Results that are not finite (division by zero) are NaN.</summary>
    public FeaturePipelineBuilder Derive(string name, string expression)
    {
        DerivedFeature.Parse(name, expression);
        return Add(new DeriveStep { Name = name, Expression = expression });
    }

    /// <summary>Appends a step built by hand.</summary>
    public FeaturePipelineBuilder Add(FeatureStep step)
    {
        _steps.Add(step);
        return this;
    }

    /// <summary>The unfitted pipeline.</summary>
    public FeaturePipeline Build() => new(_steps, _prefix, _name);
}

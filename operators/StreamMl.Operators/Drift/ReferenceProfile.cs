using System.Text.Json;
using System.Text.Json.Serialization;
using StreamMl.Engine;

namespace StreamMl.Operators.Drift;

/// <summary>How a feature's distribution is summarised.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<FeatureKind>))]
public enum FeatureKind
{
    /// <summary>Numbers: moments and quantile bins.</summary>
    Numeric,
    /// <summary>Strings or integer codes: category frequencies.</summary>
    Categorical,
}

/// <summary>The training-time distribution of one feature: what drift is measured against. Plain data.</summary>
public sealed class FeatureProfile
{
    /// <summary>Column name.</summary>
    public required string Name { get; init; }

    /// <summary>Numeric or categorical.</summary>
    public required FeatureKind Kind { get; init; }

    /// <summary>Rows with a value.</summary>
    public long Count { get; init; }

    /// <summary>Rows that were null, NaN or infinite.</summary>
    public long Missing { get; init; }

    /// <summary>Mean of the values (numeric).</summary>
    public double Mean { get; init; } = double.NaN;

    /// <summary>Sample standard deviation (numeric).</summary>
    public double StdDev { get; init; } = double.NaN;

    /// <summary>Smallest value (numeric).</summary>
    public double Min { get; init; } = double.NaN;

    /// <summary>Largest value (numeric).</summary>
    public double Max { get; init; } = double.NaN;

    /// <summary>Ascending, distinct bin edges at quantiles of the values (numeric). Bin 0 is (−∞, Edges[0]), bin k is
    /// [Edges[k−1], Edges[k]) and the last bin is [Edges[^1], +∞).</summary>
    public double[] Edges { get; init; } = [];

    /// <summary>Values per bin, <c>Edges.Length + 1</c> entries (numeric).</summary>
    public long[] BinCounts { get; init; } = [];

    /// <summary>Sum of the values in each bin, <c>Edges.Length + 1</c> entries (numeric): the Wasserstein estimate uses
    /// the end bins' sums because those bins are unbounded.</summary>
    public double[] BinSums { get; init; } = [];

    /// <summary>The most frequent categories (categorical). Integer-coded categories are written as decimal strings.</summary>
    public string[] Categories { get; init; } = [];

    /// <summary>Rows per category, <c>Categories.Length + 1</c> entries: the last counts every other category.</summary>
    public long[] CategoryCounts { get; init; } = [];

    /// <summary>Missing rows over all rows.</summary>
    [JsonIgnore]
    public double MissingRate => Count + Missing == 0 ? 0 : (double)Missing / (Count + Missing);
}

/// <summary>The reference distribution of every monitored feature, built from training data and stored beside a
/// model version as JSON (<see cref="ToJson"/>, <see cref="FromJson"/>).</summary>
public sealed class ReferenceProfile
{
    /// <summary>Format version of the JSON; readers reject versions they do not know.</summary>
    public const int CurrentVersion = 1;

    /// <summary>Format version.</summary>
    public int Version { get; init; } = CurrentVersion;

    /// <summary>Rows the profile was built from.</summary>
    public long Rows { get; init; }

    /// <summary>One entry per feature.</summary>
    public required IReadOnlyList<FeatureProfile> Features { get; init; }

    /// <summary>The profile of the named feature, or null.</summary>
    public FeatureProfile? Find(string name)
    {
        foreach (var feature in Features)
            if (feature.Name == name) return feature;
        return null;
    }

    /// <summary>Indented JSON. Doubles are written in their shortest round-trip form, so a reload is bit-identical.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, DriftJsonContext.Default.ReferenceProfile);

    /// <summary>Reads a profile written by <see cref="ToJson"/>.</summary>
    public static ReferenceProfile FromJson(string json)
    {
        ReferenceProfile? profile;
        try
        {
            profile = JsonSerializer.Deserialize(json, DriftJsonContext.Default.ReferenceProfile);
        }
        catch (JsonException e)
        {
            throw new StreamMlException($"reference profile JSON is malformed at {e.Path} (line {e.LineNumber}): {e.Message}", e);
        }
        if (profile is null) throw new StreamMlException("reference profile JSON is 'null'; expected an object with 'features'");
        if (profile.Version != CurrentVersion)
            throw new StreamMlException($"reference profile has format version {profile.Version}; this build reads version {CurrentVersion}. Rebuild the profile from the training data.");
        foreach (var f in profile.Features) Validate(f);
        return profile;
    }

    /// <summary>Writes the profile to a file.</summary>
    public void Save(string path) => File.WriteAllText(path, ToJson());

    /// <summary>Reads a profile from a file.</summary>
    public static ReferenceProfile Load(string path)
    {
        try
        {
            return FromJson(File.ReadAllText(path));
        }
        catch (StreamMlException e)
        {
            throw new StreamMlException($"{path}: {e.Message}", e);
        }
    }

    private static void Validate(FeatureProfile f)
    {
        if (f.Kind == FeatureKind.Numeric)
        {
            if (f.BinCounts.Length != f.Edges.Length + 1)
                throw new StreamMlException($"feature '{f.Name}': {f.Edges.Length} edges need {f.Edges.Length + 1} bin counts, found {f.BinCounts.Length}");
            if (f.BinSums.Length != f.BinCounts.Length)
                throw new StreamMlException($"feature '{f.Name}': {f.BinCounts.Length} bins need as many bin sums, found {f.BinSums.Length}");
            for (var i = 1; i < f.Edges.Length; i++)
                if (!(f.Edges[i] > f.Edges[i - 1]))
                    throw new StreamMlException($"feature '{f.Name}': edges must be strictly ascending (edge {i} is {f.Edges[i]}, after {f.Edges[i - 1]})");
        }
        else if (f.CategoryCounts.Length != f.Categories.Length + 1)
        {
            throw new StreamMlException($"feature '{f.Name}': {f.Categories.Length} categories need {f.Categories.Length + 1} counts (the last for other categories), found {f.CategoryCounts.Length}");
        }
    }
}

/// <summary>Source-generated JSON metadata for the drift types (no reflection at run time).</summary>
[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ReferenceProfile))]
[JsonSerializable(typeof(DriftReport))]
internal sealed partial class DriftJsonContext : JsonSerializerContext;

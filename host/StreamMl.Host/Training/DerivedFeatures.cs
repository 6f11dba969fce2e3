using StreamMl.Engine;
using StreamMl.Operators.Features;
using StreamMl.Operators.Learners;

namespace StreamMl.Host.Training;

/// <summary>Wraps a learner in the spec's derived features (<c>derive:</c>), computed inside every fit and in the
/// model's ONNX graph; operands name the fitted pipeline's features, and an unknown one is reported at its line and
/// column in the spec.</summary>
internal static class DerivedFeatures
{
    public static ILearner Around(ILearner learner, TrainSpec spec, IReadOnlyList<string> featureNames)
    {
        if (spec.Derive.Count == 0) return learner;
        var known = featureNames.ToHashSet(StringComparer.Ordinal);
        var taken = new HashSet<string>(known, StringComparer.Ordinal);
        var features = new List<DerivedFeature>();
        foreach (var (name, expression) in spec.Derive)
        {
            var feature = DerivedFeature.Parse(name, expression);
            foreach (var operand in feature.Features)
            {
                if (known.Contains(operand)) continue;
                var guess = known.OrderBy(k => Distance(k, operand)).FirstOrDefault(k => Distance(k, operand) <= 2);
                throw new StreamMlException($"{spec.WhereDerive(name)}: derive.{name}: '{operand}' is not a feature"
                    + (guess is null ? "" : $" (did you mean '{guess}'?)")
                    + $"; the features are: {string.Join(", ", featureNames)}");
            }
            if (!taken.Add(name))
                throw new StreamMlException($"{spec.WhereDerive(name)}: derive.{name}: '{name}' is already a feature; give the derived feature another name");
            features.Add(feature);
        }
        return new DerivedFeaturesLearner(learner, features, featureNames);
    }

    private static int Distance(string a, string b)
    {
        var previous = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var current = new int[b.Length + 1];
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            previous = current;
        }
        return previous[b.Length];
    }
}

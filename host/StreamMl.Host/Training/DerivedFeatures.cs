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
                var guess = known.OrderBy(k => SpecErrors.Distance(k, operand)).FirstOrDefault(k => SpecErrors.Distance(k, operand) <= 2);
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
}

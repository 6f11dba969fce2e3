using StreamMl.Engine;
using StreamMl.Operators.Learners;

namespace StreamMl.Host.Training;

/// <summary>Wraps a learner in the spec's fold-fitted category encodings (<c>encode:</c>): the features named
/// <c>column:code</c> are replaced inside every fit by their target or frequency encoding.</summary>
internal static class CategoryEncodings
{
    public static ILearner Around(ILearner learner, IReadOnlyDictionary<string, string> encode, IReadOnlyList<string> featureNames)
    {
        foreach (var (kind, encoding) in new[] { ("target", CategoryEncodingKind.Target), ("frequency", CategoryEncodingKind.Frequency) })
        {
            var columns = encode.Where(e => e.Value == kind).Select(e => Index(featureNames, e.Key)).ToList();
            if (columns.Count > 0) learner = new EncodingLearner(learner, columns, encoding);
        }
        return learner;
    }

    private static int Index(IReadOnlyList<string> featureNames, string column)
    {
        var name = column + ":code";
        for (var i = 0; i < featureNames.Count; i++) if (featureNames[i] == name) return i;
        throw new StreamMlException($"internal error: the feature pipeline has no code feature for encoded column '{column}'");
    }
}

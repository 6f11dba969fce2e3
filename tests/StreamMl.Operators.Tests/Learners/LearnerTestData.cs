using System.Globalization;
using StreamMl.Operators.Learners;

namespace StreamMl.Operators.Tests.Learners;

/// <summary>Finds ../shared/data from the folder holding StreamMl.sln and reads the numeric datasets the learner
/// tests use into training sets (a plain reader: the product's CSV connector is tested elsewhere).</summary>
internal static class LearnerTestData
{
    private static readonly Lazy<TrainingSet> s_credit = new(LoadCredit);
    private static readonly Lazy<TrainingSet> s_housing = new(LoadHousing);

    public static string DataRoot => StreamMl.Testing.SharedData.Root;

    /// <summary>Credit default: every column but ID as features, default.payment.next.month as the 0/1 label.</summary>
    public static TrainingSet Credit => s_credit.Value;

    /// <summary>California housing without ocean_proximity; an empty total_bedrooms becomes 0; the target in $100k.</summary>
    public static TrainingSet Housing => s_housing.Value;

    /// <summary>The first <paramref name="rows"/> rows of a set.</summary>
    public static TrainingSet Head(TrainingSet set, int rows) => set.Subset(Enumerable.Range(0, Math.Min(rows, set.Rows)).ToArray());

    private static TrainingSet LoadCredit()
    {
        var lines = File.ReadAllLines(Path.Combine(DataRoot, "credit_default", "UCI_Credit_Card.csv"));
        var header = lines[0].Split(',').Select(h => h.Trim('"')).ToArray();
        var features = new List<float>();
        var labels = new List<float>();
        foreach (var line in lines.Skip(1))
        {
            var cells = line.Split(',');
            for (var c = 1; c < cells.Length - 1; c++) features.Add(float.Parse(cells[c], CultureInfo.InvariantCulture));
            labels.Add(float.Parse(cells[^1], CultureInfo.InvariantCulture));
        }
        return new TrainingSet(features.ToArray(), header.Length - 2, labels.ToArray(), header[1..^1]);
    }

    private static TrainingSet LoadHousing()
    {
        var lines = File.ReadAllLines(Path.Combine(DataRoot, "california_housing", "housing.csv"));
        var header = lines[0].Split(',');
        var target = Array.IndexOf(header, "median_house_value");
        var names = header.Where((h, i) => i != target && h != "ocean_proximity").ToArray();
        var features = new List<float>();
        var labels = new List<float>();
        foreach (var line in lines.Skip(1))
        {
            var cells = line.Split(',');
            for (var c = 0; c < cells.Length; c++)
            {
                if (c == target || header[c] == "ocean_proximity") continue;
                features.Add(cells[c].Length == 0 ? 0f : float.Parse(cells[c], CultureInfo.InvariantCulture));
            }
            labels.Add(float.Parse(cells[target], CultureInfo.InvariantCulture) / 100_000f);
        }
        return new TrainingSet(features.ToArray(), names.Length, labels.ToArray(), names);
    }
}

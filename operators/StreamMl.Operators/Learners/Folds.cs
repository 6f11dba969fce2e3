namespace StreamMl.Operators.Learners;

/// <summary>Assigns rows to cross-validation folds and train/test splits. Every method is deterministic for a seed.</summary>
public static class Folds
{
    /// <summary>Exact stratified k-fold: within each class the rows are shuffled and dealt round-robin to the folds,
    /// continuing the deal from one class to the next, so every fold holds each class's share to within one row and
    /// fold sizes differ by at most one. (ML.NET's sampling key only keeps equal keys together; it does not stratify.)</summary>
    /// <returns>The fold (0..k-1) of each row.</returns>
    public static int[] Stratified(ReadOnlySpan<float> labels, int k, int seed)
    {
        Check(labels.Length, k);
        var byClass = new SortedDictionary<int, List<int>>();
        for (var i = 0; i < labels.Length; i++)
        {
            var label = (int)labels[i];
            if (!byClass.TryGetValue(label, out var list)) byClass[label] = list = [];
            list.Add(i);
        }
        var random = new Random(seed);
        var fold = new int[labels.Length];
        var next = 0;
        foreach (var rows in byClass.Values)
        {
            var shuffled = rows.ToArray();
            random.Shuffle(shuffled);
            foreach (var row in shuffled)
            {
                fold[row] = next;
                next = (next + 1) % k;
            }
        }
        return fold;
    }

    /// <summary>Shuffled k-fold (for regression): a random permutation cut into k folds whose sizes differ by at most one.</summary>
    public static int[] Shuffled(int rows, int k, int seed)
    {
        Check(rows, k);
        var order = Enumerable.Range(0, rows).ToArray();
        new Random(seed).Shuffle(order);
        var fold = new int[rows];
        for (var i = 0; i < rows; i++) fold[order[i]] = i % k;
        return fold;
    }

    /// <summary>A stratified train/test split: each class contributes round(testFraction * its size) rows to the test
    /// side (at least one when the class has two or more rows).</summary>
    public static (int[] Train, int[] Test) StratifiedSplit(ReadOnlySpan<float> labels, double testFraction, int seed)
    {
        if (testFraction is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(testFraction), "must be in (0, 1)");
        var byClass = new SortedDictionary<int, List<int>>();
        for (var i = 0; i < labels.Length; i++)
        {
            var label = (int)labels[i];
            if (!byClass.TryGetValue(label, out var list)) byClass[label] = list = [];
            list.Add(i);
        }
        var random = new Random(seed);
        List<int> train = [], test = [];
        foreach (var rows in byClass.Values)
        {
            var shuffled = rows.ToArray();
            random.Shuffle(shuffled);
            var take = (int)Math.Round(testFraction * shuffled.Length, MidpointRounding.AwayFromZero);
            if (take == 0 && shuffled.Length >= 2) take = 1;
            test.AddRange(shuffled[..take]);
            train.AddRange(shuffled[take..]);
        }
        train.Sort();
        test.Sort();
        return (train.ToArray(), test.ToArray());
    }

    /// <summary>A shuffled train/test split (for regression).</summary>
    public static (int[] Train, int[] Test) ShuffledSplit(int rows, double testFraction, int seed)
    {
        if (testFraction is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(testFraction), "must be in (0, 1)");
        var order = Enumerable.Range(0, rows).ToArray();
        new Random(seed).Shuffle(order);
        var take = (int)Math.Round(testFraction * rows, MidpointRounding.AwayFromZero);
        var test = order[..take];
        var train = order[take..];
        Array.Sort(test);
        Array.Sort(train);
        return (train, test);
    }

    /// <summary>The rows in fold <paramref name="fold"/> and the rows outside it, both ascending.</summary>
    public static (int[] Train, int[] Validation) Split(ReadOnlySpan<int> folds, int fold)
    {
        List<int> train = [], validation = [];
        for (var i = 0; i < folds.Length; i++) (folds[i] == fold ? validation : train).Add(i);
        return (train.ToArray(), validation.ToArray());
    }

    private static void Check(int rows, int k)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 2);
        if (rows < k) throw new ArgumentException($"{rows} rows cannot be cut into {k} folds");
    }
}

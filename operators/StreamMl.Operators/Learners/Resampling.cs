namespace StreamMl.Operators.Learners;

/// <summary>Rebalances the classes of a training set. Cross-validation applies it to training folds only: the
/// validation fold keeps the class balance the model will meet in production.</summary>
public interface IResampler
{
    /// <summary>Name used in specs and reports ("oversample", "undersample", "smote").</summary>
    string Name { get; }

    /// <summary>A new, rebalanced set. <paramref name="seed"/> makes the result reproducible.</summary>
    TrainingSet Resample(TrainingSet set, int seed);
}

/// <summary>Duplicates randomly chosen rows of each smaller class until it has as many rows as the largest class.</summary>
public sealed class RandomOverSampler : IResampler
{
    /// <inheritdoc/>
    public string Name => "oversample";

    /// <inheritdoc/>
    public TrainingSet Resample(TrainingSet set, int seed)
    {
        var byClass = Resamplers.RowsByClass(set);
        var target = byClass.Max(rows => rows.Count);
        var random = new Random(seed);
        var picked = new List<int>(target * byClass.Length);
        foreach (var rows in byClass)
        {
            picked.AddRange(rows);
            for (var i = rows.Count; i < target && rows.Count > 0; i++) picked.Add(rows[random.Next(rows.Count)]);
        }
        return set.Subset(picked.ToArray());
    }
}

/// <summary>Keeps a random subset of each larger class, as many rows as the smallest (non-empty) class has.</summary>
public sealed class RandomUnderSampler : IResampler
{
    /// <inheritdoc/>
    public string Name => "undersample";

    /// <inheritdoc/>
    public TrainingSet Resample(TrainingSet set, int seed)
    {
        var byClass = Resamplers.RowsByClass(set);
        var target = byClass.Where(r => r.Count > 0).Min(rows => rows.Count);
        var random = new Random(seed);
        var picked = new List<int>(target * byClass.Length);
        foreach (var rows in byClass)
        {
            var shuffled = rows.ToArray();
            random.Shuffle(shuffled);
            picked.AddRange(shuffled.Take(target));
        }
        picked.Sort();
        return set.Subset(picked.ToArray());
    }
}

/// <summary>SMOTE (Chawla et al., 2002): for each smaller class, adds synthetic rows x + u·(n − x), u ~ U[0, 1), where x
/// is a random row of the class and n one of its <see cref="Neighbours"/> nearest same-class rows (Euclidean distance
/// on the feature matrix, so features should be on comparable scales). Synthetic rows get row id
/// <see cref="TrainingSet.SyntheticRow"/> and, when the set has weights, the weight of x.</summary>
public sealed class Smote(int neighbours = 5) : IResampler
{
    /// <summary>k of the k-nearest-neighbour search.</summary>
    public int Neighbours { get; } = neighbours >= 1 ? neighbours : throw new ArgumentOutOfRangeException(nameof(neighbours));

    /// <inheritdoc/>
    public string Name => "smote";

    /// <inheritdoc/>
    public TrainingSet Resample(TrainingSet set, int seed)
    {
        var byClass = Resamplers.RowsByClass(set);
        var target = byClass.Max(rows => rows.Count);
        var random = new Random(seed);
        var d = set.FeatureCount;
        var extraRows = byClass.Sum(rows => rows.Count >= 2 ? target - rows.Count : 0);
        var features = new float[(set.Rows + extraRows) * d];
        var labels = new float[set.Rows + extraRows];
        var ids = new int[set.Rows + extraRows];
        var weights = set.Weights is null ? null : new float[set.Rows + extraRows];
        set.Features.CopyTo(features, 0);
        set.Labels.CopyTo(labels, 0);
        set.RowIds.CopyTo(ids, 0);
        set.Weights?.CopyTo(weights!, 0);
        var next = set.Rows;
        foreach (var rows in byClass)
        {
            // A class of one row has no neighbour to interpolate towards; it is left as it is.
            if (rows.Count < 2 || rows.Count == target) continue;
            var k = Math.Min(Neighbours, rows.Count - 1);
            var neighbourCache = new int[rows.Count][];
            for (var s = rows.Count; s < target; s++)
            {
                var i = random.Next(rows.Count);
                var nn = neighbourCache[i] ??= NearestNeighbours(set, rows, i, k);
                var n = rows[nn[random.Next(k)]];
                var x = rows[i];
                var u = random.NextSingle();
                var xs = set.Row(x);
                var ns = set.Row(n);
                var output = features.AsSpan(next * d, d);
                for (var f = 0; f < d; f++) output[f] = xs[f] + u * (ns[f] - xs[f]);
                labels[next] = set.Labels[x];
                ids[next] = TrainingSet.SyntheticRow;
                if (weights is not null) weights[next] = set.Weights![x];
                next++;
            }
        }
        return new TrainingSet(features, d, labels, set.FeatureNames, weights, ids);
    }

    /// <summary>Indexes (into <paramref name="rows"/>) of the k rows nearest to rows[i], excluding itself.</summary>
    private static int[] NearestNeighbours(TrainingSet set, List<int> rows, int i, int k)
    {
        var best = new int[k];
        var bestDistance = new double[k];
        Array.Fill(bestDistance, double.PositiveInfinity);
        var x = set.Row(rows[i]);
        for (var j = 0; j < rows.Count; j++)
        {
            if (j == i) continue;
            var y = set.Row(rows[j]);
            double distance = 0;
            for (var f = 0; f < x.Length; f++)
            {
                var e = (double)x[f] - y[f];
                distance += e * e;
            }
            if (distance >= bestDistance[k - 1]) continue;
            // Insertion into the small sorted list of the best k so far.
            var p = k - 1;
            while (p > 0 && bestDistance[p - 1] > distance)
            {
                bestDistance[p] = bestDistance[p - 1];
                best[p] = best[p - 1];
                p--;
            }
            bestDistance[p] = distance;
            best[p] = j;
        }
        return best;
    }
}

/// <summary>Helpers shared by the resamplers and class weighting.</summary>
public static class Resamplers
{
    /// <summary>The resampler of a spec name: "none" (null), "oversample", "undersample", "smote".</summary>
    public static IResampler? FromName(string? name, int smoteNeighbours = 5) => name?.ToLowerInvariant() switch
    {
        null or "" or "none" => null,
        "oversample" or "random-oversample" => new RandomOverSampler(),
        "undersample" or "random-undersample" => new RandomUnderSampler(),
        "smote" => new Smote(smoteNeighbours),
        _ => throw new ArgumentException($"unknown resampling '{name}'; use none, oversample, undersample or smote"),
    };

    /// <summary>"Balanced" class weights: each row of class c weighs rows / (classes · rows of c), so every class
    /// carries the same total weight.</summary>
    public static float[] BalancedWeights(TrainingSet set)
    {
        var counts = set.ClassCounts();
        var present = counts.Count(c => c > 0);
        var weights = new float[set.Rows];
        for (var i = 0; i < set.Rows; i++)
            weights[i] = (float)((double)set.Rows / (present * counts[(int)set.Labels[i]]));
        return weights;
    }

    internal static List<int>[] RowsByClass(TrainingSet set)
    {
        var byClass = new List<int>[set.ClassCount()];
        for (var c = 0; c < byClass.Length; c++) byClass[c] = [];
        for (var i = 0; i < set.Rows; i++) byClass[(int)set.Labels[i]].Add(i);
        return byClass;
    }
}

using StreamMl.Engine;

namespace StreamMl.Operators.Validation;

/// <summary>Statistics of every column of a stream of batches: what imputers are fitted on and what decides which
/// columns have too many missing values. Fill it by <see cref="Add"/>ing batches (a profiling pass over the input,
/// or a sample of it), or run a <see cref="ProfilingOperator"/> in a pipeline.</summary>
public sealed class DataProfile
{
    private readonly Dictionary<string, ColumnStats> _byName = new(StringComparer.Ordinal);
    private readonly List<ColumnStats> _columns = [];

    /// <summary>Creates an empty profile for <paramref name="schema"/>; values are kept (up to a cap) for medians.</summary>
    public DataProfile(Schema schema, int valueCap = 1_000_000)
    {
        foreach (var field in schema)
        {
            var stats = new ColumnStats(field, keepValues: true, valueCap);
            _columns.Add(stats);
            _byName[field.Name] = stats;
        }
    }

    /// <summary>Rows profiled.</summary>
    public long Rows { get; private set; }

    /// <summary>Every column's statistics, in schema order.</summary>
    public IReadOnlyList<ColumnStats> Columns => _columns;

    /// <summary>The statistics of <paramref name="name"/>.</summary>
    public ColumnStats Column(string name) =>
        _byName.TryGetValue(name, out var stats) ? stats : throw new SchemaMismatchException($"column '{name}' is not in the profile");

    /// <summary>Adds the selected rows of a batch (matched to the profile's columns by name).</summary>
    public void Add(ColumnBatch batch)
    {
        foreach (var stats in _columns)
        {
            var index = batch.Schema.IndexOf(stats.Field.Name);
            if (index >= 0) stats.Add(batch, batch[index]);
        }
        Rows += batch.Selection.Count;
    }

    /// <summary>Columns whose missing ratio is above <paramref name="threshold"/> (0..1), to drop before writing.</summary>
    public IReadOnlyList<string> ColumnsMissingMoreThan(double threshold) =>
        [.. _columns.Where(c => c.MissingRatio > threshold).Select(c => c.Field.Name)];
}

/// <summary>Adds every batch it sees to a <see cref="DataProfile"/>; changes nothing.</summary>
public sealed class ProfilingOperator(string name = "profile") : IBatchOperator
{
    /// <inheritdoc/>
    public string Name { get; } = name;

    /// <summary>The profile, available after <see cref="Bind"/>.</summary>
    public DataProfile? Profile { get; private set; }

    /// <inheritdoc/>
    public Schema Bind(Schema input)
    {
        Profile = new DataProfile(input);
        return input;
    }

    /// <inheritdoc/>
    public void Process(ColumnBatch batch, StageContext context) => Profile!.Add(batch);
}

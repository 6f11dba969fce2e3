using System.Globalization;
using StreamMl.Engine;

namespace StreamMl.Operators.Drift;

/// <summary>Options of <see cref="ReferenceProfileBuilder"/>.</summary>
public sealed class ProfileOptions
{
    /// <summary>Columns to profile; null (the default) profiles every numeric, bool and string column.</summary>
    public IReadOnlyList<string>? Columns { get; init; }

    /// <summary>Integer columns that hold category codes rather than quantities (bool and string columns always count
    /// as categorical). Default: none.</summary>
    public IReadOnlyList<string> CategoricalColumns { get; init; } = [];

    /// <summary>Quantile bins per numeric feature. Default 20: each bin holds about 5% of the training rows, which bounds
    /// the binned KS error by 0.05. Ties (integer-valued features) can merge bins.</summary>
    public int Bins { get; init; } = 20;

    /// <summary>Categories kept per categorical feature, most frequent first; the rest share one "other" bucket. Default 64.</summary>
    public int MaxCategories { get; init; } = 64;
}

/// <summary>Builds a <see cref="ReferenceProfile"/> from training batches: keeps every value of a numeric feature (the
/// training set is bounded) to place exact quantile edges, and counts categories. Not for the hot path.</summary>
public sealed class ReferenceProfileBuilder
{
    private readonly ProfileOptions _options;
    private readonly List<Collector> _collectors = [];
    private Schema? _schema;
    private long _rows;

    /// <summary>Creates a builder.</summary>
    public ReferenceProfileBuilder(ProfileOptions? options = null)
    {
        _options = options ?? new ProfileOptions();
        if (_options.Bins < 1) throw new ArgumentOutOfRangeException(nameof(options), "ProfileOptions.Bins must be at least 1");
    }

    /// <summary>Chooses the columns from <paramref name="schema"/>; called by the first <see cref="Add(ColumnBatch)"/> when not called before.</summary>
    public void Bind(Schema schema)
    {
        if (_schema is not null) return;
        _schema = schema;
        var categorical = new HashSet<string>(_options.CategoricalColumns, StringComparer.Ordinal);
        var names = _options.Columns ?? schema.Where(f => f.Type != ColumnType.Timestamp).Select(f => f.Name).ToList();
        foreach (var name in names)
        {
            var index = schema.Require(name);
            var type = schema[index].Type;
            if (type == ColumnType.Timestamp)
                throw new SchemaMismatchException($"column '{name}' is a timestamp; drift profiles take numeric, bool or string columns");
            var kind = type is ColumnType.String or ColumnType.Bool || categorical.Contains(name) ? FeatureKind.Categorical : FeatureKind.Numeric;
            if (kind == FeatureKind.Categorical && type is ColumnType.Float32 or ColumnType.Float64)
                throw new SchemaMismatchException($"column '{name}' is {ColumnTypes.Name(type)}; only integer, bool and string columns can be categorical");
            _collectors.Add(new Collector(name, index, type, kind));
        }
    }

    /// <summary>Adds the selected rows of <paramref name="batch"/>.</summary>
    public void Add(ColumnBatch batch) => Add(batch, 0, batch.Length);

    /// <summary>Adds the selected rows of <paramref name="batch"/> from <paramref name="start"/> up to (not including)
    /// <paramref name="end"/>.</summary>
    public void Add(ColumnBatch batch, int start, int end)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(end, batch.Length);
        Bind(batch.Schema);
        var selection = batch.Selection;
        for (var row = start; row < end; row++)
            if (selection.IsSelected(row)) _rows++;
        foreach (var c in _collectors)
        {
            var column = batch[c.Index];
            for (var row = start; row < end; row++)
            {
                if (!selection.IsSelected(row)) continue;
                if (!column.IsValid(row)) { c.Missing++; continue; }
                if (c.Kind == FeatureKind.Numeric)
                {
                    var v = ReadNumber(column, row);
                    if (double.IsFinite(v)) c.Values.Add(v); else c.Missing++;
                }
                else
                {
                    var key = column.Type switch
                    {
                        ColumnType.String => column.Dictionary![column.Values<int>()[row]],
                        _ => ((long)ReadNumber(column, row)).ToString(CultureInfo.InvariantCulture),
                    };
                    c.Categories[key] = c.Categories.GetValueOrDefault(key) + 1;
                }
            }
        }
    }

    /// <summary>Adds a numeric feature's values directly (NaN and ±∞ count as missing).</summary>
    public void AddNumeric(string name, ReadOnlySpan<double> values)
    {
        var c = _collectors.Find(x => x.Name == name);
        if (c is null)
        {
            c = new Collector(name, -1, ColumnType.Float64, FeatureKind.Numeric);
            _collectors.Add(c);
        }
        foreach (var v in values)
            if (double.IsFinite(v)) c.Values.Add(v); else c.Missing++;
        _rows = Math.Max(_rows, c.Values.Count + c.Missing);
    }

    /// <summary>The profile of everything added so far.</summary>
    public ReferenceProfile Build() => new()
    {
        Rows = _rows,
        Features = _collectors.Select(c => c.Kind == FeatureKind.Numeric ? BuildNumeric(c) : BuildCategorical(c)).ToList(),
    };

    /// <summary>Profile of one numeric feature: exact quantile edges over the sorted values.</summary>
    private FeatureProfile BuildNumeric(Collector c)
    {
        var values = c.Values.ToArray();
        Array.Sort(values);
        var moments = new RunningMoments();
        foreach (var v in values) moments.Add(v);
        var edges = QuantileEdges(values, _options.Bins);
        var counts = new long[edges.Length + 1];
        var sums = new double[edges.Length + 1];
        var previous = 0;
        for (var k = 0; k <= edges.Length; k++)
        {
            var below = k < edges.Length ? Internal.DriftMath.LowerBound(values, edges[k]) : values.Length;
            counts[k] = below - previous;
            for (var i = previous; i < below; i++) sums[k] += values[i];
            previous = below;
        }
        return new FeatureProfile
        {
            Name = c.Name, Kind = FeatureKind.Numeric, Count = values.Length, Missing = c.Missing,
            Mean = moments.Mean, StdDev = moments.StandardDeviation, Min = moments.Min, Max = moments.Max,
            Edges = edges, BinCounts = counts, BinSums = sums,
        };
    }

    /// <summary>Edges at the k/bins quantiles of sorted <paramref name="sorted"/>, distinct and above the minimum, so no
    /// reference bin is empty by construction.</summary>
    internal static double[] QuantileEdges(ReadOnlySpan<double> sorted, int bins)
    {
        var edges = new List<double>(bins);
        if (sorted.IsEmpty) return [];
        for (var k = 1; k < bins; k++)
        {
            var e = sorted[(int)((long)k * sorted.Length / bins)];
            if (e > sorted[0] && (edges.Count == 0 || e > edges[^1])) edges.Add(e);
        }
        return [.. edges];
    }

    private FeatureProfile BuildCategorical(Collector c)
    {
        var ordered = c.Categories.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        var kept = ordered.Take(_options.MaxCategories).ToList();
        var other = ordered.Skip(_options.MaxCategories).Sum(kv => kv.Value);
        return new FeatureProfile
        {
            Name = c.Name, Kind = FeatureKind.Categorical, Count = ordered.Sum(kv => kv.Value), Missing = c.Missing,
            Categories = [.. kept.Select(kv => kv.Key)],
            CategoryCounts = [.. kept.Select(kv => kv.Value), other],
        };
    }

    internal static double ReadNumber(Column column, int row) => column.Type switch
    {
        ColumnType.Float32 => column.Values<float>()[row],
        ColumnType.Float64 => column.Values<double>()[row],
        ColumnType.Int32 => column.Values<int>()[row],
        ColumnType.Int64 or ColumnType.Timestamp => column.Values<long>()[row],
        ColumnType.Bool => column.Values<byte>()[row],
        _ => double.NaN,
    };

    private sealed class Collector(string name, int index, ColumnType type, FeatureKind kind)
    {
        public string Name { get; } = name;
        public int Index { get; } = index;
        public ColumnType Type { get; } = type;
        public FeatureKind Kind { get; } = kind;
        public List<double> Values { get; } = [];
        public Dictionary<string, long> Categories { get; } = new(StringComparer.Ordinal);
        public long Missing { get; set; }
    }
}

/// <summary>An operator for a bounded training pipeline that profiles what passes through it; read
/// <see cref="Profile"/> after the pipeline completes (or call <see cref="ReferenceProfileBuilder.Build"/> on
/// <see cref="Builder"/>).</summary>
public sealed class ProfileOperator(ProfileOptions? options = null) : IBatchOperator
{
    /// <summary>The builder fed by <see cref="Process"/>.</summary>
    public ReferenceProfileBuilder Builder { get; } = new(options);

    /// <summary>The profile, available once the input has ended.</summary>
    public ReferenceProfile? Profile { get; private set; }

    /// <inheritdoc/>
    public string Name => "profile";

    /// <inheritdoc/>
    public Schema Bind(Schema input)
    {
        Builder.Bind(input);
        return input;
    }

    /// <inheritdoc/>
    public void Process(ColumnBatch batch, StageContext context) => Builder.Add(batch);

    /// <inheritdoc/>
    public void Complete(StageContext context) => Profile = Builder.Build();
}

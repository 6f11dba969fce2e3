using StreamMl.Engine;

namespace StreamMl.Operators.Validation;

/// <summary>Runs validation and cleansing rules in order on each batch, and profiles the rows that pass, for the
/// data-quality report (<see cref="Report"/>). Rejected rows go to the dead-letter sink with their rule; filtered
/// rows are dropped and counted. Valid rows cost no allocation.</summary>
public sealed class Validator : IBatchOperator
{
    private readonly ValidationRule[] _rules;
    private readonly bool _profile;
    private ColumnStats[] _stats = [];
    private int[] _statsColumns = [];
    private long _rowsIn;
    private long _rowsOut;
    private long _nullsIn;

    /// <summary>Creates a validator running <paramref name="rules"/> in order.</summary>
    /// <param name="rules">The rules.</param>
    /// <param name="name">Stage name. Default "validate".</param>
    /// <param name="profileOutput">Keep per-column statistics of the rows that pass, for the report. Default true.</param>
    public Validator(IEnumerable<ValidationRule> rules, string name = "validate", bool profileOutput = true)
    {
        _rules = [.. rules];
        Name = name;
        _profile = profileOutput;
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <summary>The rules, in order.</summary>
    public IReadOnlyList<ValidationRule> Rules => _rules;

    /// <summary>Columns the report marks as dropped (for example by missing ratio), set by the job that drops them.</summary>
    public IList<string> DroppedColumns { get; } = [];

    /// <inheritdoc/>
    public Schema Bind(Schema input)
    {
        var schema = input;
        foreach (var rule in _rules) schema = rule.Bind(schema);
        if (_profile)
        {
            _stats = [.. schema.Select(f => new ColumnStats(f))];
            _statsColumns = [.. Enumerable.Range(0, schema.Count)];
        }
        return schema;
    }

    /// <inheritdoc/>
    public void Process(ColumnBatch batch, StageContext context)
    {
        _rowsIn += batch.Selection.Count;
        if (_profile) _nullsIn += CountNullsIn(batch);
        foreach (var rule in _rules) rule.Apply(batch, context);
        _rowsOut += batch.Selection.Count;
        for (var i = 0; i < _stats.Length; i++) _stats[i].Add(batch, batch[_statsColumns[i]]);
    }

    private long CountNullsIn(ColumnBatch batch)
    {
        long nulls = 0;
        for (var c = 0; c < batch.Schema.Count; c++)
            if (batch[c].MayHaveNulls) nulls += batch[c].NullCount(batch.Length);
        return nulls;
    }

    /// <summary>Rows received.</summary>
    public long RowsIn => _rowsIn;

    /// <summary>Rows passed on.</summary>
    public long RowsOut => _rowsOut;

    /// <summary>Rows sent to the dead-letter sink by all rules.</summary>
    public long RowsRejected => _rules.Sum(r => r.Counts.Rejected);

    /// <summary>Rows dropped without a dead letter by all rules.</summary>
    public long RowsFiltered => _rules.Sum(r => r.Counts.Filtered);

    /// <summary>The data-quality report of the rows seen so far.</summary>
    public DataQualityReport Report() => new(
        Name, _rowsIn, _rowsOut, RowsRejected, RowsFiltered, _nullsIn,
        [.. _rules.Select(r => new RuleReport(r.Kind, r.Column, r.Action.ToString().ToLowerInvariant(), r.Counts.Rejected, r.Counts.Filtered, r.Counts.Changed))],
        [.. _stats.Select(ColumnReport.From)],
        [.. DroppedColumns]);
}

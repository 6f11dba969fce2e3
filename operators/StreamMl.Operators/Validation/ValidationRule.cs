using StreamMl.Engine;

namespace StreamMl.Operators.Validation;

/// <summary>One check or cleansing step of a <see cref="Validator"/>. Rules run in order on the rows still selected,
/// and count what they did in <see cref="Counts"/>.</summary>
public abstract class ValidationRule
{
    /// <summary>Creates a rule on <paramref name="column"/>.</summary>
    protected ValidationRule(string kind, string column, RuleAction action)
    {
        Kind = kind;
        Column = column;
        Action = action;
    }

    /// <summary>Rule kind as reported and written in dead letters: <c>required</c>, <c>range</c>, ...</summary>
    public string Kind { get; }

    /// <summary>The column the rule reads.</summary>
    public string Column { get; }

    /// <summary>What happens to a row that breaks the rule.</summary>
    public RuleAction Action { get; }

    /// <summary>Rows rejected, filtered and changed so far.</summary>
    public RuleCounts Counts { get; } = new();

    /// <summary>Checks the schema and returns it plus any column the rule adds.</summary>
    public abstract Schema Bind(Schema input);

    /// <summary>Applies the rule to the selected rows of <paramref name="batch"/>.</summary>
    public abstract void Apply(ColumnBatch batch, StageContext context);

    /// <summary>Deals with row <paramref name="row"/> that broke the rule, by <see cref="Action"/>.</summary>
    protected void Fail(ColumnBatch batch, int row, StageContext context, Column column, string message)
    {
        switch (Action)
        {
            case RuleAction.Reject:
                context.Reject(batch, row, Kind, $"column '{Column}': {message}");
                Counts.Rejected++;
                break;
            case RuleAction.Filter:
                batch.Selection.Deselect(row);
                Counts.Filtered++;
                break;
            default:
                column.SetNull(row);
                Counts.Changed++;
                break;
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Kind}({Column}, {Action.ToString().ToLowerInvariant()})";
}

/// <summary>What one rule did.</summary>
public sealed class RuleCounts
{
    /// <summary>Rows sent to the dead-letter sink.</summary>
    public long Rejected { get; internal set; }

    /// <summary>Rows dropped without a dead letter.</summary>
    public long Filtered { get; internal set; }

    /// <summary>Values changed in place (nulled, clipped, imputed, coerced).</summary>
    public long Changed { get; internal set; }
}

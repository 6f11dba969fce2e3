namespace StreamMl.Operators.Validation;

/// <summary>What a rule does with a row that breaks it.</summary>
public enum RuleAction
{
    /// <summary>Send the row to the dead-letter sink with the rule and a message (counted as dead-lettered).</summary>
    Reject,
    /// <summary>Drop the row without a dead letter (counted as filtered, so counts still reconcile).</summary>
    Filter,
    /// <summary>Set the offending value to null and keep the row.</summary>
    Null,
    /// <summary>Move a numeric value to the nearest bound and keep the row (ranges only).</summary>
    Clip,
}

/// <summary>How <see cref="ImputeRule"/> chooses the value for nulls.</summary>
public enum ImputeStrategy
{
    /// <summary>The mean of the column's non-null values in the profile.</summary>
    Mean,
    /// <summary>The median of the column's non-null values in the profile.</summary>
    Median,
    /// <summary>The most frequent value in the profile (numbers or strings).</summary>
    MostFrequent,
    /// <summary>A constant given by the user.</summary>
    Constant,
}

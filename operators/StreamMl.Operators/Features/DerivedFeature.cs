using System.Globalization;

namespace StreamMl.Operators.Features;

/// <summary>The operation of a <see cref="DerivedFeature"/>.</summary>
public enum DeriveOperator
{
    /// <summary>a + b.</summary>
    Add,
    /// <summary>a - b.</summary>
    Subtract,
    /// <summary>a * b.</summary>
    Multiply,
    /// <summary>a / b.</summary>
    Divide,
}

/// <summary>A feature computed from two others, or from one and a number: <c>a op b</c> with op one of + - * /,
/// written with spaces around the operator (<c>total_rooms / households</c>, <c>population * 0.001</c>, <c>latitude +
/// longitude</c>). A result that is not a finite number (division by zero, overflow, a missing operand) is NaN: missing,
/// which tree models route as missing; impute it before a linear model. The same expression is computed by
/// <see cref="DeriveStep"/> in a feature pipeline and by <see cref="Learners.DerivedFeaturesLearner"/> inside a model
/// and its ONNX graph.</summary>
public sealed class DerivedFeature
{
    private DerivedFeature(string name, string expression, string? leftFeature, float leftConstant, DeriveOperator op,
        string? rightFeature, float rightConstant)
    {
        Name = name;
        Expression = expression;
        LeftFeature = leftFeature;
        LeftConstant = leftConstant;
        Operator = op;
        RightFeature = rightFeature;
        RightConstant = rightConstant;
    }

    /// <summary>The new feature's name.</summary>
    public string Name { get; }

    /// <summary>The expression as written.</summary>
    public string Expression { get; }

    /// <summary>The left operand's feature, or null when it is the number <see cref="LeftConstant"/>.</summary>
    public string? LeftFeature { get; }

    /// <summary>The left operand when it is a number.</summary>
    public float LeftConstant { get; }

    /// <summary>The operation.</summary>
    public DeriveOperator Operator { get; }

    /// <summary>The right operand's feature, or null when it is the number <see cref="RightConstant"/>.</summary>
    public string? RightFeature { get; }

    /// <summary>The right operand when it is a number.</summary>
    public float RightConstant { get; }

    /// <summary>The features the expression reads, left first.</summary>
    public IEnumerable<string> Features
    {
        get
        {
            if (LeftFeature is not null) yield return LeftFeature;
            if (RightFeature is not null) yield return RightFeature;
        }
    }

    /// <summary>Parses <c>a op b</c>; throws a <see cref="FeaturePipelineException"/> that says what is wrong with it.</summary>
    public static DerivedFeature Parse(string name, string expression)
    {
        if (string.IsNullOrWhiteSpace(name))
            throw new FeaturePipelineException($"the derived feature '{expression}' needs a name");
        var tokens = (expression ?? "").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (tokens.Length != 3 || tokens[1] is not ("+" or "-" or "*" or "/"))
            throw new FeaturePipelineException(
                $"'{expression}' is not one operation 'a op b': write op (+ - * /) with spaces around it, e.g. 'total_rooms / households'; a and b are feature names or numbers");
        var op = tokens[1] switch
        {
            "+" => DeriveOperator.Add,
            "-" => DeriveOperator.Subtract,
            "*" => DeriveOperator.Multiply,
            _ => DeriveOperator.Divide,
        };
        var (leftFeature, leftConstant) = Operand(tokens[0], expression!);
        var (rightFeature, rightConstant) = Operand(tokens[2], expression!);
        if (leftFeature is null && rightFeature is null)
            throw new FeaturePipelineException($"'{expression}' names no feature: at least one of a and b in 'a op b' must be a feature");
        if (name == leftFeature || name == rightFeature)
            throw new FeaturePipelineException($"the derived feature '{name}' reads itself in '{expression}'; give it a new name");
        return new DerivedFeature(name, expression!, leftFeature, leftConstant, op, rightFeature, rightConstant);
    }

    private static (string? Feature, float Constant) Operand(string token, string expression)
    {
        if (!double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out var number)) return (token, 0f);
        if (!float.IsFinite((float)number))
            throw new FeaturePipelineException($"'{token}' in '{expression}' is not a finite float32 number");
        return (null, (float)number);
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Name} = {Expression}";
}

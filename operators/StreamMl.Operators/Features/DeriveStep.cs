using StreamMl.Operators.Features.Internal;

namespace StreamMl.Operators.Features;

/// <summary>Adds the feature <see cref="Name"/> = <see cref="Expression"/> (<c>a op b</c>, see <see cref="DerivedFeature"/>):
/// a ratio, product, sum or difference of two features, or of a feature and a number. An operand that no earlier step
/// produced is loaded from the raw column of that name; otherwise the step reads the feature as the earlier steps left
/// it (impute before deriving, and missing operands stay missing). Stateless: nothing is fitted.</summary>
public sealed class DeriveStep : FeatureStep
{
    private DerivedFeature? _parsed;
    private int _left = -1;
    private int _right = -1;
    private int _output;
    private float[] _leftConstants = [];
    private float[] _rightConstants = [];

    /// <summary>The new feature's name.</summary>
    public string Name { get; set; } = "";

    /// <summary><c>a op b</c>, op one of + - * / with spaces around it; a and b are feature names or numbers.</summary>
    public string Expression { get; set; } = "";

    internal override void DeclareInputs(FeatureLayout layout)
    {
        _parsed = DerivedFeature.Parse(Name, Expression);
        _left = _parsed.LeftFeature is { } left ? layout.Use(left) : -1;
        _right = _parsed.RightFeature is { } right ? layout.Use(right) : -1;
    }

    internal override void DeclareOutputs(FeatureLayout layout) => _output = layout.Add(Name);

    internal override void Apply(FeatureFrame frame)
    {
        var parsed = _parsed!;
        var a = _left >= 0 ? frame.Read(_left) : Constants(ref _leftConstants, parsed.LeftConstant, frame.Length);
        var b = _right >= 0 ? frame.Read(_right) : Constants(ref _rightConstants, parsed.RightConstant, frame.Length);
        FeatureKernels.Derive(a, b, frame.Write(_output), parsed.Operator);
    }

    // A number operand becomes a column of that number, grown only when a longer batch arrives: one kernel for every
    // operand kind, and nothing allocated per batch once the largest batch was seen.
    private static ReadOnlySpan<float> Constants(ref float[] column, float value, int length)
    {
        if (column.Length < length)
        {
            column = new float[length];
            Array.Fill(column, value);
        }
        return column.AsSpan(0, length);
    }

    /// <inheritdoc/>
    public override string ToString() => $"Derive({Name} = {Expression})";
}

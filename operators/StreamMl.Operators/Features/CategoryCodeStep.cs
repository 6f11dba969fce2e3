using System.Globalization;
using StreamMl.Engine;
using StreamMl.Operators.Features.Internal;

namespace StreamMl.Operators.Features;

/// <summary>One feature per category column holding the category's code: its position among the training categories
/// (string columns in ordinal order, integer columns ascending); null and unseen values get
/// <see cref="Unknown"/>. The code itself means nothing to a model: a fold-fitted encoding
/// (<see cref="Learners.EncodingLearner"/>) replaces it by the category's target mean or frequency, inside the model
/// and its ONNX graph. The feature is named <c>column:code</c>.</summary>
public sealed class CategoryCodeStep : FeatureStep
{
    /// <summary>The code of a null or unseen value.</summary>
    public const float Unknown = -1f;

    private int _slot;
    private int[] _codeMap = new int[64];
    private Dictionary<string, int>? _stringIndex;
    private Dictionary<long, int>? _integerIndex;

    /// <summary>The raw column.</summary>
    public string Column { get; set; } = "";

    /// <summary>Fitted categories of a string column, in code order.</summary>
    public string[]? Categories { get; set; }

    /// <summary>Fitted categories of an integer column, in code order.</summary>
    public long[]? IntegerCategories { get; set; }

    internal override void DeclareInputs(FeatureLayout layout) => layout.UseRaw(Column);

    internal override void Fit(FeatureFrame frame)
    {
        var column = frame.Batch[Column];
        if (column.Type == ColumnType.String)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var codes = column.Values<int>()[..frame.Length];
            for (var row = 0; row < codes.Length; row++)
                if (column.IsValid(row)) seen.Add(column.Dictionary![codes[row]]);
            Categories = seen.Order(StringComparer.Ordinal).ToArray();
            IntegerCategories = null;
        }
        else
        {
            var seen = new HashSet<long>();
            for (var row = 0; row < frame.Length; row++)
                if (column.IsValid(row)) seen.Add(OneHotStep.ReadInteger(column, row));
            IntegerCategories = seen.Order().ToArray();
            Categories = null;
        }
    }

    internal override void DeclareOutputs(FeatureLayout layout)
    {
        if (Categories is null && IntegerCategories is null)
            throw new FeaturePipelineException($"CategoryCode({Column}) is not fitted: it has no categories");
        if (Categories is not null)
            _stringIndex = Categories.Select((c, i) => (c, i)).ToDictionary(t => t.c, t => t.i, StringComparer.Ordinal);
        else
            _integerIndex = IntegerCategories!.Select((c, i) => (c, i)).ToDictionary(t => t.c, t => t.i);
        _slot = layout.Add($"{Column}:code");
    }

    internal override void Apply(FeatureFrame frame)
    {
        var output = frame.Write(_slot);
        var column = frame.Batch[Column];
        if (column.Type == ColumnType.String)
        {
            if (_stringIndex is null)
                throw new FeaturePipelineException($"CategoryCode({Column}) was fitted on integer categories but the column is a string column");
            // Each dictionary code is looked up once per batch.
            var dictionary = column.Dictionary!;
            if (_codeMap.Length < dictionary.Count) _codeMap = new int[Math.Max(dictionary.Count, _codeMap.Length * 2)];
            for (var code = 0; code < dictionary.Count; code++)
                _codeMap[code] = _stringIndex.GetValueOrDefault(dictionary[code], -1);
            var codes = column.Values<int>();
            for (var row = 0; row < frame.Length; row++)
                output[row] = column.IsValid(row) ? _codeMap[codes[row]] : Unknown;
        }
        else
        {
            if (_integerIndex is null)
                throw new FeaturePipelineException($"CategoryCode({Column}) was fitted on string categories but the column is {ColumnTypes.Name(column.Type)}");
            for (var row = 0; row < frame.Length; row++)
                output[row] = column.IsValid(row) ? _integerIndex.GetValueOrDefault(OneHotStep.ReadInteger(column, row), -1) : Unknown;
        }
    }

    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"CategoryCode({Column})");
}

namespace StreamMl.Host.Specs;

/// <summary>One problem in a pipeline spec, with the 1-based line and column where it is.</summary>
internal sealed record SpecError(int Line, int Column, string Message)
{
    public override string ToString() => $"line {Line}, column {Column}: {Message}";
}

/// <summary>Collects every problem of a spec instead of stopping at the first, so `streamml validate` can list them all.</summary>
internal sealed class SpecErrors
{
    private readonly List<SpecError> _errors = [];

    public IReadOnlyList<SpecError> All => _errors;

    public bool Any => _errors.Count > 0;

    public void Add(int line, int column, string message) => _errors.Add(new SpecError(line, column, message));

    public void Add(SpecNode node, string message) => Add(node.Line, node.Column, message);

    public override string ToString() => string.Join(Environment.NewLine, _errors.OrderBy(e => e.Line).ThenBy(e => e.Column));
}

/// <summary>Thrown when a spec has errors; the message lists every one with its line and column.</summary>
internal sealed class SpecException(IReadOnlyList<SpecError> errors, string? origin = null)
    : Engine.StreamMlException(Format(errors, origin))
{
    public IReadOnlyList<SpecError> Errors { get; } = errors;

    private static string Format(IReadOnlyList<SpecError> errors, string? origin) =>
        $"the pipeline spec{(origin is null ? "" : $" {origin}")} has {errors.Count} error(s):{Environment.NewLine}" +
        string.Join(Environment.NewLine, errors.OrderBy(e => e.Line).ThenBy(e => e.Column).Select(e => "  " + e));
}

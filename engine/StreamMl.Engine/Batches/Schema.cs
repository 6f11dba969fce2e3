using System.Collections;

namespace StreamMl.Engine;

/// <summary>A named, typed column of a <see cref="Schema"/>.</summary>
/// <param name="Name">Column name, unique within its schema.</param>
/// <param name="Type">Physical type.</param>
/// <param name="Nullable">Whether rows may be null (validity bitmap in use).</param>
public sealed record Field(string Name, ColumnType Type, bool Nullable = true)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Name}:{ColumnTypes.Name(Type)}{(Nullable ? "?" : "")}";
}

/// <summary>An ordered list of uniquely named fields. Immutable; <see cref="Add"/> returns a new schema.</summary>
public sealed class Schema : IReadOnlyList<Field>, IEquatable<Schema>
{
    private readonly Field[] _fields;
    private readonly Dictionary<string, int> _indexByName;

    /// <summary>Creates a schema; names must be unique.</summary>
    public Schema(IEnumerable<Field> fields)
    {
        _fields = fields.ToArray();
        _indexByName = new Dictionary<string, int>(_fields.Length, StringComparer.Ordinal);
        for (var i = 0; i < _fields.Length; i++)
        {
            if (!_indexByName.TryAdd(_fields[i].Name, i))
                throw new SchemaMismatchException($"column '{_fields[i].Name}' appears twice in the schema");
        }
    }

    /// <summary>Creates a schema from fields.</summary>
    public Schema(params Field[] fields) : this((IEnumerable<Field>)fields) { }

    /// <summary>A schema without columns.</summary>
    public static Schema Empty { get; } = new();

    /// <inheritdoc/>
    public int Count => _fields.Length;

    /// <inheritdoc/>
    public Field this[int index] => _fields[index];

    /// <summary>Index of the named column, or -1.</summary>
    public int IndexOf(string name) => _indexByName.GetValueOrDefault(name, -1);

    /// <summary>True when the schema has the named column.</summary>
    public bool Contains(string name) => _indexByName.ContainsKey(name);

    /// <summary>Index of the named column; throws a <see cref="SchemaMismatchException"/> that lists the columns when it is missing.</summary>
    public int Require(string name, ColumnType? type = null)
    {
        if (!_indexByName.TryGetValue(name, out var index))
            throw new SchemaMismatchException(
                $"column '{name}' is not in the schema; columns are: {string.Join(", ", _fields.Select(f => f.Name))}");
        if (type is { } t && _fields[index].Type != t)
            throw new SchemaMismatchException(
                $"column '{name}' is {ColumnTypes.Name(_fields[index].Type)}, expected {ColumnTypes.Name(t)}");
        return index;
    }

    /// <summary>This schema plus the given fields; a field already present with the same type is kept once.</summary>
    public Schema Add(params Field[] fields)
    {
        var list = new List<Field>(_fields);
        foreach (var field in fields)
        {
            var existing = IndexOf(field.Name);
            if (existing < 0) list.Add(field);
            else if (_fields[existing].Type != field.Type)
                throw new SchemaMismatchException(
                    $"column '{field.Name}' already exists as {ColumnTypes.Name(_fields[existing].Type)}; cannot add it as {ColumnTypes.Name(field.Type)}");
        }
        return new Schema(list);
    }

    /// <inheritdoc/>
    public IEnumerator<Field> GetEnumerator() => ((IEnumerable<Field>)_fields).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <inheritdoc/>
    public bool Equals(Schema? other) => other is not null && _fields.AsSpan().SequenceEqual(other._fields);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as Schema);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var field in _fields) hash.Add(field);
        return hash.ToHashCode();
    }

    /// <inheritdoc/>
    public override string ToString() => string.Join(", ", _fields.Select(f => f.ToString()));
}

using StreamMl.Engine;

namespace StreamMl.Recommendations.Pipelines;

/// <summary>A pipeline operator that feeds each batch's selected rows into one or more recommenders and passes the
/// batch on unchanged. String id columns are mapped through <see cref="UserIds"/> / <see cref="ItemIds"/> /
/// <see cref="CategoryIds"/>, which a server uses to translate request ids. Rows with a null user or item are sent to
/// dead letters. Allocates nothing per batch once the id maps and the recommenders' state have warmed up.</summary>
public sealed class InteractionOperator : IBatchOperator
{
    private readonly IRecommender[] _recommenders;
    private readonly InteractionColumns _columns;
    private int _user = -1, _item = -1, _time = -1, _weight = -1, _category = -1;
    private long[] _users = [], _items = [], _times = [];
    private float[] _weights = [];
    private int[] _categories = [];
    private long[] _codeIds = [];
    private const long Unmapped = -2, MapFull = -3;

    /// <summary>Creates the operator over <paramref name="recommenders"/>, all fed the same events.</summary>
    public InteractionOperator(InteractionColumns columns, params IRecommender[] recommenders)
    {
        if (recommenders.Length == 0) throw new ArgumentException("give at least one recommender to feed", nameof(recommenders));
        _columns = columns;
        _recommenders = recommenders;
        UserIds = new StringIds(columns.MaxUserIds);
        ItemIds = new StringIds(columns.MaxItemIds);
    }

    /// <inheritdoc/>
    public string Name => "interactions";

    /// <summary>Ids of the string user column's values.</summary>
    public StringIds UserIds { get; }

    /// <summary>Ids of the string item column's values.</summary>
    public StringIds ItemIds { get; }

    /// <summary>True when the user column holds strings (known once the operator is bound).</summary>
    public bool UsersAreStrings { get; private set; }

    /// <summary>True when the item column holds strings (known once the operator is bound).</summary>
    public bool ItemsAreStrings { get; private set; }

    /// <summary>Ids of the string category column's values.</summary>
    public StringIds CategoryIds { get; } = new();

    /// <summary>Rows fed to the recommenders.</summary>
    public long Rows { get; private set; }

    /// <inheritdoc/>
    public Schema Bind(Schema input)
    {
        _user = RequireId(input, _columns.User, "user");
        _item = RequireId(input, _columns.Item, "item");
        UsersAreStrings = input[_user].Type == ColumnType.String;
        ItemsAreStrings = input[_item].Type == ColumnType.String;
        _time = _columns.Time is { } time ? Require(input, time, "time", ColumnType.Timestamp, ColumnType.Int64) : -1;
        _weight = _columns.Weight is { } weight
            ? Require(input, weight, "weight", ColumnType.Float32, ColumnType.Float64, ColumnType.Int32, ColumnType.Int64) : -1;
        _category = _columns.Category is { } category ? Require(input, category, "category", ColumnType.Int32, ColumnType.String) : -1;
        return input;
    }

    private static int RequireId(Schema input, string name, string role) =>
        Require(input, name, role, ColumnType.Int32, ColumnType.Int64, ColumnType.String);

    private static int Require(Schema input, string name, string role, params ColumnType[] types)
    {
        var index = input.Require(name);
        if (Array.IndexOf(types, input[index].Type) < 0)
            throw new SchemaMismatchException(
                $"the {role} column '{name}' is {ColumnTypes.Name(input[index].Type)}; it must be {string.Join(" or ", types.Select(ColumnTypes.Name))}");
        return index;
    }

    /// <inheritdoc/>
    public void Process(ColumnBatch batch, StageContext context)
    {
        if (_user < 0) Bind(batch.Schema);
        var length = batch.Length;
        if (_users.Length < length)
        {
            _users = new long[batch.Capacity];
            _items = new long[batch.Capacity];
            _times = new long[batch.Capacity];
            _weights = new float[batch.Capacity];
            _categories = new int[batch.Capacity];
        }
        var userColumn = batch[_user];
        var itemColumn = batch[_item];
        ReadIds(batch, userColumn, UserIds, _users);
        ReadIds(batch, itemColumn, ItemIds, _items);
        var times = _time >= 0 ? batch.Values<long>(_time) : batch.EventTimes;
        ReadWeights(batch);
        ReadCategories(batch);

        var rows = 0;
        var selection = batch.Selection;
        for (var row = 0; row < length; row++)
        {
            if (!selection.IsSelected(row)) continue;
            if (!userColumn.IsValid(row) || !itemColumn.IsValid(row))
            {
                context.Reject(batch, row, "interaction", $"the {(userColumn.IsValid(row) ? "item" : "user")} is missing");
                continue;
            }
            if (_users[row] == MapFull || _items[row] == MapFull)
            {
                RejectFull(batch, row, context, _users[row] == MapFull ? userColumn : itemColumn, _users[row] == MapFull ? UserIds : ItemIds,
                    _users[row] == MapFull ? "user" : "item");
                continue;
            }
            _users[rows] = _users[row];
            _items[rows] = _items[row];
            _times[rows] = times[row];
            _weights[rows] = _weights[row];
            _categories[rows] = _categories[row];
            rows++;
        }
        var interactions = new InteractionBatch(_users.AsSpan(0, rows), _items.AsSpan(0, rows), _times.AsSpan(0, rows),
            _weights.AsSpan(0, rows), _categories.AsSpan(0, rows));
        foreach (var recommender in _recommenders) recommender.Update(interactions);
        Rows += rows;
    }

    private void ReadIds(ColumnBatch batch, Column column, StringIds names, long[] ids)
    {
        var length = batch.Length;
        switch (column.Type)
        {
            case ColumnType.Int64:
                column.Values<long>()[..length].CopyTo(ids);
                break;
            case ColumnType.Int32:
                var ints = column.Values<int>()[..length];
                for (var row = 0; row < length; row++) ids[row] = ints[row];
                break;
            default:
                // Codes are mapped as rows use them, so values of deselected rows never take an id of the bounded map.
                var codes = column.Values<int>()[..length];
                var dictionary = column.Dictionary!;
                if (_codeIds.Length < dictionary.Count) _codeIds = new long[Math.Max(dictionary.Count, _codeIds.Length * 2)];
                _codeIds.AsSpan(0, dictionary.Count).Fill(Unmapped);
                var selection = batch.Selection;
                for (var row = 0; row < length; row++)
                {
                    if (!selection.IsSelected(row) || !column.IsValid(row))
                    {
                        ids[row] = -1;
                        continue;
                    }
                    ref var id = ref _codeIds[codes[row]];
                    if (id == Unmapped) id = names.TryGetOrAdd(dictionary[codes[row]], out var mapped) ? mapped : MapFull;
                    ids[row] = id;
                }
                break;
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void RejectFull(ColumnBatch batch, int row, StageContext context, Column column, StringIds ids, string role) =>
        context.Reject(batch, row, "interaction", string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"the {role} '{column.Dictionary![column.Values<int>()[row]]}' is new and the {role} id map is full ({ids.Capacity:N0} {role}s); raise its bound or start afresh"));

    private void ReadWeights(ColumnBatch batch)
    {
        var length = batch.Length;
        var weights = _weights.AsSpan(0, length);
        if (_weight < 0)
        {
            weights.Fill(1f);
            return;
        }
        var column = batch[_weight];
        switch (column.Type)
        {
            case ColumnType.Float32: column.Values<float>()[..length].CopyTo(weights); break;
            case ColumnType.Float64: for (var r = 0; r < length; r++) weights[r] = (float)column.Values<double>()[r]; break;
            case ColumnType.Int32: for (var r = 0; r < length; r++) weights[r] = column.Values<int>()[r]; break;
            default: for (var r = 0; r < length; r++) weights[r] = column.Values<long>()[r]; break;
        }
        if (column.MayHaveNulls)
            for (var r = 0; r < length; r++) if (!column.IsValid(r)) weights[r] = 1f;
    }

    private void ReadCategories(ColumnBatch batch)
    {
        var length = batch.Length;
        var categories = _categories.AsSpan(0, length);
        if (_category < 0)
        {
            categories.Fill(Interaction.NoCategory);
            return;
        }
        var column = batch[_category];
        var values = column.Values<int>()[..length];
        if (column.Type == ColumnType.String)
        {
            var dictionary = column.Dictionary!;
            for (var r = 0; r < length; r++) categories[r] = (int)CategoryIds.GetOrAdd(dictionary[values[r]]);
        }
        else
        {
            values.CopyTo(categories);
        }
        if (column.MayHaveNulls)
            for (var r = 0; r < length; r++) if (!column.IsValid(r)) categories[r] = Interaction.NoCategory;
    }
}

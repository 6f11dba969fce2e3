using System.Globalization;
using System.Text.Json;
using StreamMl.Engine;

namespace StreamMl.Connectors.Tests.Contracts;

/// <summary>The record every contract test writes and expects back: an id, a nullable double and a string. Record
/// <c>i</c> is a fixed function of <c>i</c>, so a reader can check values without keeping the input.</summary>
public readonly record struct ContractRecord(long Id, double? Value, string Name)
{
    public static readonly Schema Schema = new(
        new Field("id", ColumnType.Int64, Nullable: false),
        new Field("value", ColumnType.Float64),
        new Field("name", ColumnType.String));

    /// <summary>Every 7th value is null; names repeat (dictionary-encoded columns get repeated strings).</summary>
    public static ContractRecord Of(long i) => new(i, i % 7 == 3 ? null : Math.Round(i * 0.25 - 40, 2), $"dev-{i % 5}");

    public static IReadOnlyList<ContractRecord> Range(int count) => [.. Enumerable.Range(0, count).Select(i => Of(i))];

    public string ToJson() => JsonSerializer.Serialize(new { id = Id, value = Value, name = Name });

    public string ToCsvLine() => string.Create(CultureInfo.InvariantCulture, $"{Id},{Value?.ToString("R", CultureInfo.InvariantCulture) ?? ""},{Name}");

    /// <summary>Reads row <paramref name="row"/> of a batch whose schema has the contract's columns (found by name).</summary>
    public static ContractRecord Read(ColumnBatch batch, int row)
    {
        var id = batch[batch.Schema.Require("id")];
        var value = batch[batch.Schema.Require("value")];
        var name = batch[batch.Schema.Require("name")];
        return new ContractRecord(
            id.Type == ColumnType.Int32 ? id.Values<int>()[row] : id.Values<long>()[row],
            value.IsValid(row) ? value.Values<double>()[row] : null,
            name.Dictionary![name.Values<int>()[row]]);
    }

    /// <summary>Writes <paramref name="records"/> into a reset batch, one partition, offset = id.</summary>
    public static void Fill(ColumnBatch batch, ReadOnlySpan<ContractRecord> records)
    {
        var id = batch[batch.Schema.Require("id")];
        var value = batch[batch.Schema.Require("value")];
        var name = batch[batch.Schema.Require("name")];
        for (var row = 0; row < records.Length; row++)
        {
            var record = records[row];
            id.SetValid(row);
            id.Values<long>()[row] = record.Id;
            if (record.Value is { } v)
            {
                value.SetValid(row);
                value.Values<double>()[row] = v;
            }
            else value.SetNull(row);
            name.SetValid(row);
            name.Values<int>()[row] = name.Dictionary!.GetOrAdd(record.Name);
            batch.EventTimesBuffer[row] = 1_700_000_000_000_000L + record.Id;
            batch.RowOffsetsBuffer[row] = record.Id;
            batch.RowPartitionsBuffer[row] = 0;
        }
        batch.Length = records.Length;
        if (records.Length > 0) batch.Positions.Add(0, records[0].Id, records[^1].Id + 1);
    }
}

using System.Globalization;
using DuckDB.NET.Data;

namespace StreamMl.Host.Tests.Files;

/// <summary>Reads the ingest output with DuckDB, a Parquet reader StreamMl did not write.</summary>
internal static class DuckDb
{
    public static List<object?[]> Query(string sql)
    {
        using var connection = new DuckDBConnection("Data Source=:memory:");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<object?[]>();
        while (reader.Read())
        {
            var row = new object?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++) row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            rows.Add(row);
        }
        return rows;
    }

    /// <summary>The values of one integer column of every published Parquet file under <paramref name="dir"/>, sorted.</summary>
    public static List<long> Longs(string dir, string column)
    {
        if (Directory.GetFiles(dir, "*.parquet", SearchOption.AllDirectories).Length == 0) return [];
        var glob = Path.Combine(dir, "**", "*.parquet").Replace("'", "''");
        return [.. Query($"SELECT \"{column}\" FROM read_parquet('{glob}') ORDER BY 1").Select(r => Convert.ToInt64(r[0], CultureInfo.InvariantCulture))];
    }
}

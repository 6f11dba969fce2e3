using System.Globalization;
using DuckDB.NET.Data;

namespace StreamMl.Host.Tests.KillRestart;

/// <summary>What a kill/restart run delivered, compared row for row with its source by DuckDB (not by our reader).</summary>
/// <param name="Case">The scenario.</param>
/// <param name="Sent">Rows in the source.</param>
/// <param name="Delivered">Rows in the published Parquet files.</param>
/// <param name="Lost">Source rows (all columns) found in no output row.</param>
/// <param name="Invented">Output rows equal to no source row.</param>
/// <param name="Duplicated">Output rows beyond the first of each id.</param>
/// <param name="Kills">SIGKILLs sent.</param>
internal sealed record KillRestartFigures(string Case, long Sent, long Delivered, long Lost, long Invented, long Duplicated, int Kills)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Case}: sent {Sent:N0}, delivered {Delivered:N0}, lost {Lost:N0}, invented {Invented:N0}, duplicated {Duplicated:N0}, kills {Kills}");
}

/// <summary>Compares the Parquet output of a folder with the source CSV (<c>id,amount,label</c>) in DuckDB.</summary>
internal static class OutputComparison
{
    public static KillRestartFigures Compare(string name, string sourceCsv, string outputFolder, int kills)
    {
        var source = $"read_csv('{Quote(sourceCsv)}', header = true, columns = {{'id': 'BIGINT', 'amount': 'DOUBLE', 'label': 'VARCHAR'}})";
        var output = $"(SELECT CAST(id AS BIGINT) AS id, CAST(amount AS DOUBLE) AS amount, CAST(label AS VARCHAR) AS label FROM read_parquet('{Quote(Path.Combine(outputFolder, "**", "*.parquet"))}'))";
        var row = Query($"""
            SELECT (SELECT count(*) FROM {source}),
                   (SELECT count(*) FROM {output}),
                   (SELECT count(*) FROM (SELECT * FROM {source} EXCEPT ALL SELECT * FROM (SELECT DISTINCT * FROM {output}))),
                   (SELECT count(*) FROM (SELECT * FROM {output} EXCEPT SELECT * FROM {source})),
                   (SELECT count(*) - count(DISTINCT id) FROM {output})
            """);
        return new KillRestartFigures(name, row[0], row[1], row[2], row[3], row[4], kills);
    }

    /// <summary>Distinct ids in the published output (0 while there is none).</summary>
    public static long DistinctIds(string outputFolder)
    {
        if (KillRestartHarness.PublishedParts(outputFolder) == 0) return 0;
        return Query($"SELECT count(DISTINCT id) FROM read_parquet('{Quote(Path.Combine(outputFolder, "**", "*.parquet"))}')")[0];
    }

    private static string Quote(string text) => text.Replace("'", "''", StringComparison.Ordinal);

    private static long[] Query(string sql)
    {
        using var connection = new DuckDBConnection("Data Source=:memory:");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        Assert.True(reader.Read());
        return [.. Enumerable.Range(0, reader.FieldCount).Select(i => Convert.ToInt64(reader.GetValue(i), CultureInfo.InvariantCulture))];
    }
}

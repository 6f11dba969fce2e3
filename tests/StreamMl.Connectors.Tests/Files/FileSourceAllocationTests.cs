using System.Globalization;
using System.Text;
using StreamMl.Connectors.Files;
using StreamMl.Engine;

namespace StreamMl.Connectors.Tests.Files;

/// <summary>The file source fills a batch without allocating once warm: no per-row or per-value allocation in the CSV
/// and JSON Lines readers or the field parser (strings as they are, trimmed on request, null tokens, numbers with
/// spaces around them).</summary>
public sealed class FileSourceAllocationTests
{
    private const int Capacity = 4096;
    private static readonly string[] s_cities = ["Oslo", "  Bergen ", "NA", "Trondheim", "Tromsø", ""];

    private static string Csv(string dir, int rows)
    {
        var text = new StringBuilder("id,price,city,flag,when\n");
        for (var i = 0; i < rows; i++)
            text.Append(CultureInfo.InvariantCulture, $"{i},{(i % 11 == 0 ? " 2.5 " : (i * 0.25).ToString(CultureInfo.InvariantCulture))},\"{s_cities[i % s_cities.Length]}\",{(i % 2 == 0 ? "true" : "false")},2024-01-{1 + i % 28:D2}T10:00:00Z\n");
        var path = Path.Combine(dir, "alloc.csv");
        File.WriteAllText(path, text.ToString());
        return path;
    }

    private static string Json(string dir, int rows)
    {
        var text = new StringBuilder();
        for (var i = 0; i < rows; i++)
            text.Append(CultureInfo.InvariantCulture, $"{{\"id\":{i},\"price\":{i * 0.25},\"city\":\"{s_cities[i % s_cities.Length]}\",\"flag\":{(i % 2 == 0 ? "true" : "false")},\"skip\":\"x\"}}\n");
        var path = Path.Combine(dir, "alloc.jsonl");
        File.WriteAllText(path, text.ToString());
        return path;
    }

    public static TheoryData<string, bool> Cases => new() { { "csv", false }, { "csv", true }, { "jsonl", false }, { "jsonl", true } };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task FillingABatch_AllocatesNothing_InSteadyState(string format, bool trim)
    {
        var dir = TestData.TempDir();
        var options = new FileSourceOptions { Trim = trim };
        options.Paths.Add(format == "csv" ? Csv(dir, 40 * Capacity) : Json(dir, 40 * Capacity));
        options.Schema = format == "csv"
            ? SchemaText.Parse("id:int64,price:float64,city:string,flag:bool,when:timestamp")
            : SchemaText.Parse("id:int64,price:float64,city:string,flag:bool");
        var source = FileSource.Create(options);
        var dead = new CollectingDeadLetterSink();
        await source.OpenAsync(new SourceContext("alloc", dead), CancellationToken.None);
        try
        {
            using var batch = new ColumnBatch(source.Schema, Capacity);
            for (var i = 0; i < 5; i++)
            {
                batch.Reset();
                await source.FillAsync(batch, CancellationToken.None);
                Assert.Equal(Capacity, batch.Length);
            }
            // The least of three rounds: a real per-row or per-batch allocation shows in each of them, while a one-off
            // of the runtime (a method's tier-up under a loaded machine) lands in one only.
            const int measured = 10;
            var perBatch = long.MaxValue;
            for (var round = 0; round < 3; round++)
            {
                var before = GC.GetAllocatedBytesForCurrentThread();
                for (var i = 0; i < measured; i++)
                {
                    batch.Reset();
                    await source.FillAsync(batch, CancellationToken.None);
                }
                perBatch = Math.Min(perBatch, (GC.GetAllocatedBytesForCurrentThread() - before) / measured);
            }
            Assert.Equal(Capacity, batch.Length);
            Assert.Empty(dead.Letters);
            Assert.True(perBatch < 64, $"{format} (trim {trim}): {perBatch} bytes allocated per batch of {Capacity} rows");
        }
        finally
        {
            await source.DisposeAsync();
        }
    }
}

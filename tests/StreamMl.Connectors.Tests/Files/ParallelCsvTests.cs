using System.Globalization;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using StreamMl.Connectors.Files;
using StreamMl.Engine;

namespace StreamMl.Connectors.Tests.Files;

/// <summary>A CSV file parsed by several threads (<see cref="FileSourceOptions.CsvParseThreads"/>) gives exactly what
/// one thread gives: the same rows with the same line numbers, the same dead letters, and positions that cover the
/// same lines; and rows equal to DuckDB's <c>read_csv</c> on well-formed files.</summary>
public sealed class ParallelCsvTests
{
    private static readonly Schema s_schema = SchemaText.Parse("id:int64,price:float64,name:string,flag:bool");

    private static readonly string[] s_names =
        ["Oslo", "\"Ber,gen\"", "\"say \"\"hi\"\"\"", "", "NA", "a\"b\"c", "\"a\"b", "  spaced ", "Tromsø", "\"\"", "\"x\"\"\""];

    private static readonly string[] s_wellFormedNames = ["Oslo", "\"Ber,gen\"", "\"say \"\"hi\"\"\"", "  spaced ", "Tromsø", "plain text"];

    /// <summary>A CSV file of <paramref name="lines"/> records drawn from <paramref name="seed"/>: good rows with every
    /// kind of quoting, and with <paramref name="bad"/> blank lines, wrong field counts, type errors and invalid UTF-8;
    /// with <paramref name="multiline"/> also quoted line breaks and a quote never closed (which hand the rest of the
    /// file to the sequential reader); <paramref name="crlf"/> ends lines with CR LF.</summary>
    internal static string Write(string dir, int seed, int lines, bool bad, bool multiline, bool crlf, bool wellFormed = false)
    {
        var random = new Random(seed);
        var newline = crlf ? "\r\n" : "\n";
        using var stream = new MemoryStream();
        void Text(string text) => stream.Write(Encoding.UTF8.GetBytes(text));
        Text("id,price,name,flag" + newline);
        // Multi-line records only after the first few chunks, so that parallel parsing hands over part way.
        var multilineFrom = lines * 2 / 3;
        for (var i = 0; i < lines; i++)
        {
            var kind = random.Next(100);
            var price = (random.Next(-100_000, 100_000) / 8.0).ToString("R", CultureInfo.InvariantCulture);
            var names = wellFormed ? s_wellFormedNames : s_names;
            var name = names[random.Next(names.Length)];
            var flag = random.Next(2) == 0 ? "true" : "false";
            if (bad && kind < 3) Text(newline);
            else if (bad && kind < 6) Text($"{i},{price}{newline}");
            else if (bad && kind < 8) Text($"abc,{price},{name},{flag}{newline}");
            else if (bad && kind < 9)
            {
                Text($"{i},{price},");
                stream.Write([0xC3, 0x28]);
                Text($",{flag}{newline}");
            }
            else if (multiline && i > multilineFrom && kind >= 97) Text($"{i},{price},\"two{newline}lines, one field\",{flag}{newline}");
            else if (multiline && !wellFormed && i > multilineFrom && kind == 96) Text($"{i},{price},\"never closed,{flag}{newline}");
            else Text($"{i},{price},{name},{flag}{newline}");
        }
        var path = Path.Combine(dir, $"parallel-{seed}-{lines}-{bad}-{multiline}-{crlf}.csv");
        File.WriteAllBytes(path, stream.ToArray());
        return path;
    }

    internal sealed record Read(List<string> Rows, List<string> Letters, List<SourceRange> Covered, long RecordsRead, long Rejected, long Chunks, long Handovers);

    internal static async Task<Read> ReadAsync(string path, int threads, int capacity, Schema? schema = null, bool fromBytes = true, IEnumerable<string>? nullTokens = null)
    {
        var options = new FileSourceOptions { Schema = schema ?? s_schema, CsvParseThreads = threads, ParallelCsvMinBytes = 0, CsvFromBytes = fromBytes };
        if (nullTokens is not null)
        {
            options.NullTokens.Clear();
            foreach (var token in nullTokens) options.NullTokens.Add(token);
        }
        options.Paths.Add(path);
        var source = FileSource.Create(options);
        var dead = new CollectingDeadLetterSink();
        await source.OpenAsync(new SourceContext("parallel", dead), CancellationToken.None);
        var rows = new List<string>();
        var ranges = new List<SourceRange>();
        try
        {
            using var batch = new ColumnBatch(source.Schema, capacity);
            bool more;
            do
            {
                batch.Reset();
                more = await source.FillAsync(batch, CancellationToken.None);
                foreach (var range in batch.Positions.Ranges) ranges.Add(range);
                for (var row = 0; row < batch.Length; row++)
                {
                    var line = batch.RowOffsets[row];
                    // Every row lies inside its batch's positions.
                    Assert.Contains(batch.Positions.Ranges.ToArray(), r => r.Partition == batch.RowPartitions[row] && r.Start <= line && line < r.End);
                    rows.Add($"{batch.RowPartitions[row]}:{line} {DeadLetter.FormatRow(batch, row)}");
                }
            }
            while (more);
        }
        finally
        {
            await source.DisposeAsync();
        }
        var letters = dead.Letters.Select(l => $"{l.Rule}|{l.Location}|{l.Offset}|{l.Message}|{l.Raw}").ToList();
        return new Read(rows, letters, Merge(ranges), source.RecordsRead, source.RecordsRejected, source.ParallelCsv.Chunks, source.ParallelCsv.Handovers);
    }

    /// <summary>The lines the positions cover, as disjoint ranges: which batch carries a blank or rejected line at a
    /// batch boundary may differ, the lines committed may not.</summary>
    private static List<SourceRange> Merge(List<SourceRange> ranges)
    {
        var merged = new List<SourceRange>();
        foreach (var range in ranges.OrderBy(r => r.Partition).ThenBy(r => r.Start))
        {
            if (merged.Count > 0 && merged[^1].Partition == range.Partition && merged[^1].End >= range.Start)
                merged[^1] = merged[^1] with { End = Math.Max(merged[^1].End, range.End) };
            else merged.Add(range);
        }
        return merged;
    }

    private static async Task<Read> AssertSameAsSequential(string path, int capacity, int threads = 2, Schema? schema = null)
    {
        var sequential = await ReadAsync(path, 1, capacity, schema);
        var parallel = await ReadAsync(path, threads, capacity, schema);
        Assert.Equal(sequential.Rows.Count, parallel.Rows.Count);
        for (var i = 0; i < sequential.Rows.Count; i++) Assert.Equal(sequential.Rows[i], parallel.Rows[i]);
        Assert.Equal(sequential.Letters, parallel.Letters);
        Assert.Equal(sequential.Covered, parallel.Covered);
        Assert.Equal(sequential.RecordsRead, parallel.RecordsRead);
        Assert.Equal(sequential.Rejected, parallel.Rejected);
        Assert.Equal(0, sequential.Chunks);
        return parallel;
    }

    public static TheoryData<int, int, bool, bool, bool> Cases => new()
    {
        // lines, capacity, bad rows, multi-line records, CRLF
        { 0, 4096, false, false, false },
        { 1, 7, false, false, false },
        { 50, 1, true, false, false },
        { 5_000, 7, true, false, true },
        { 20_000, 4096, true, false, false },
        { 20_000, 4096, true, true, false },
        { 20_000, 1000, true, true, true },
        { 30_000, 4096, false, true, true },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Parallel_parsing_gives_the_rows_lines_positions_and_dead_letters_of_one_thread(int lines, int capacity, bool bad, bool multiline, bool crlf)
    {
        var path = Write(TestData.TempDir(), seed: lines + capacity, lines, bad, multiline, crlf);
        var two = await AssertSameAsSequential(path, capacity);
        await AssertSameAsSequential(path, capacity, threads: 3);
        // The workers did parse (all but the last chunk when the file has lines), and multi-line records handed over.
        if (lines > capacity) Assert.True(two.Chunks > 0, $"{two.Chunks} chunks parsed in parallel");
        Assert.Equal(multiline && lines > 1000 ? 1 : 0, two.Handovers);
    }

    [Property(MaxTest = 25)]
    public Property Any_mix_of_records_reads_the_same_with_two_threads(int seed, bool bad, bool multiline, bool crlf)
    {
        var capacities = new[] { 1, 7, 64, 500 };
        var capacity = capacities[Math.Abs(seed % capacities.Length)];
        var lines = Math.Abs(seed % 3000);
        var path = Write(TestData.TempDir(), seed, lines, bad, multiline, crlf);
        return Prop.ToProperty(Check(path, capacity));

        static bool Check(string path, int capacity)
        {
            AssertSameAsSequential(path, capacity).GetAwaiter().GetResult();
            return true;
        }
    }

    [Fact]
    public async Task The_last_line_without_a_line_break_and_a_byte_order_mark_read_the_same()
    {
        var dir = TestData.TempDir();
        var path = Path.Combine(dir, "bom.csv");
        var text = new StringBuilder("id,price,name,flag\n");
        for (var i = 0; i < 3000; i++) text.Append(CultureInfo.InvariantCulture, $"{i},{i * 0.5},n{i % 7},true\n");
        text.Append("3000,1.5,last,false");
        File.WriteAllBytes(path, [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(text.ToString())]);
        await AssertSameAsSequential(path, 256);
        Assert.Equal(3001, (await ReadAsync(path, 2, 256)).Rows.Count);
    }

    [Fact]
    public async Task A_lone_carriage_return_hands_the_rest_to_the_sequential_reader()
    {
        var dir = TestData.TempDir();
        var path = Path.Combine(dir, "cr.csv");
        var text = new StringBuilder("id,price,name,flag\n");
        for (var i = 0; i < 2000; i++) text.Append(CultureInfo.InvariantCulture, $"{i},{i * 0.5},n{i % 7},true{(i == 1500 ? "\r" : "\n")}");
        File.WriteAllText(path, text.ToString());
        var parallel = await AssertSameAsSequential(path, 100);
        Assert.Equal(1, parallel.Handovers);
        Assert.Equal(15, parallel.Chunks); // lines 2..1501 in chunks of 100 lines; the chunk with the lone CR hands over
    }

    [Fact]
    public async Task The_credit_file_reads_the_same_with_an_inferred_schema()
    {
        var path = TestData.Data("credit_default", "UCI_Credit_Card.csv");
        var options = new FileSourceOptions();
        options.Paths.Add(path);
        var schema = FileSource.Create(options).Schema;
        var parallel = await AssertSameAsSequential(path, 4096, schema: schema);
        Assert.Equal((0, 8), (parallel.Handovers, parallel.Chunks)); // 30,000 rows: 8 chunks of up to 4,096 lines
    }

    [Fact]
    public async Task Rows_equal_DuckDBs_read_csv_on_well_formed_files()
    {
        var dir = TestData.TempDir();
        foreach (var (lines, multiline, crlf) in new[] { (3_000, false, false), (20_000, true, true), (12_345, false, true) })
        {
            var path = Write(dir, seed: lines, lines, bad: false, multiline, crlf, wellFormed: true);
            var ours = await ReadRowsAsync(path, threads: 2, capacity: 512);
            var duck = TestData.Query(
                $"SELECT id, price, name, flag FROM read_csv('{path.Replace("'", "''")}', header = true, quote = '\"', escape = '\"', " +
                "columns = {'id': 'BIGINT', 'price': 'DOUBLE', 'name': 'VARCHAR', 'flag': 'BOOLEAN'})");
            Assert.Equal(duck.Count, ours.Count);
            for (var i = 0; i < duck.Count; i++)
            {
                var expected = $"{duck[i][0]}|{Convert.ToDouble(duck[i][1], CultureInfo.InvariantCulture).ToString("R", CultureInfo.InvariantCulture)}|{duck[i][2]}|{((bool)duck[i][3]! ? "true" : "false")}";
                Assert.Equal(expected, ours[i]);
            }
        }
    }

    [Fact]
    public async Task Steady_state_batches_allocate_nothing_on_any_thread()
    {
        const int capacity = 1024;
        var path = Write(TestData.TempDir(), seed: 11, lines: 120 * capacity, bad: false, multiline: false, crlf: false, wellFormed: true);
        var options = new FileSourceOptions { Schema = s_schema, CsvParseThreads = 2, ParallelCsvMinBytes = 0 };
        options.Paths.Add(path);
        await using var source = FileSource.Create(options);
        await source.OpenAsync(new SourceContext("alloc", new CollectingDeadLetterSink()), CancellationToken.None);
        using var batch = new ColumnBatch(source.Schema, capacity);
        // No assertion inside the measured loop: xunit's Assert.Equal allocates its comparer.
        var rows = 0L;
        async Task Fill(int batches)
        {
            for (var i = 0; i < batches; i++)
            {
                batch.Reset();
                await source.FillAsync(batch, CancellationToken.None);
                rows += batch.Length;
            }
        }
        await Fill(20); // every chunk slot and text buffer has grown to its size
        // This thread (copying into the batch) and the splitter and workers (cutting and parsing chunks, measured on their
        // own threads): the least of three rounds, as SteadyState does, so that a tier-up in one round does not count.
        var perBatch = long.MaxValue;
        var workersPerBatch = long.MaxValue;
        for (var round = 0; round < 3; round++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            var workersBefore = source.ParallelCsv.WorkerAllocatedBytes;
            await Fill(20);
            perBatch = Math.Min(perBatch, (GC.GetAllocatedBytesForCurrentThread() - before) / 20);
            workersPerBatch = Math.Min(workersPerBatch, (source.ParallelCsv.WorkerAllocatedBytes - workersBefore) / 20);
        }
        Assert.Equal(80L * capacity, rows);
        Assert.True(source.ParallelCsv.Chunks > 0);
        Assert.True(perBatch < 64, $"{perBatch} bytes allocated per batch of {capacity} rows on the source's thread");
        Assert.True(workersPerBatch < 64, $"{workersPerBatch} bytes allocated per batch of {capacity} rows by the splitter and workers");
    }

    private static async Task<List<string>> ReadRowsAsync(string path, int threads, int capacity)
    {
        var options = new FileSourceOptions { Schema = s_schema, CsvParseThreads = threads, ParallelCsvMinBytes = 0 };
        options.Paths.Add(path);
        await using var source = FileSource.Create(options);
        await source.OpenAsync(new SourceContext("parallel", new CollectingDeadLetterSink()), CancellationToken.None);
        using var batch = new ColumnBatch(source.Schema, capacity);
        var rows = new List<string>();
        bool more;
        do
        {
            batch.Reset();
            more = await source.FillAsync(batch, CancellationToken.None);
            for (var row = 0; row < batch.Length; row++)
                rows.Add(string.Join('|',
                    batch[0].Values<long>()[row].ToString(CultureInfo.InvariantCulture),
                    batch[1].Values<double>()[row].ToString("R", CultureInfo.InvariantCulture),
                    batch[2].Dictionary![batch[2].Values<int>()[row]],
                    batch[3].Values<byte>()[row] != 0 ? "true" : "false"));
        }
        while (more);
        return rows;
    }
}

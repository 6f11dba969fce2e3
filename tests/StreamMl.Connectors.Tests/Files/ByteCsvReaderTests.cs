using System.Globalization;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using StreamMl.Connectors.Files;
using StreamMl.Engine;

namespace StreamMl.Connectors.Tests.Files;

/// <summary>A plain CSV file read from its bytes on the source's thread (the default) gives exactly what the Sep reader
/// gives (<c>CsvFromBytes = false</c>): the same rows and values bit for bit, line numbers, positions, dead letters
/// and counts, on files mixing every kind of field, bad record and quoting; and it allocates nothing per batch.</summary>
public sealed class ByteCsvReaderTests
{
    private static readonly Schema s_numbers = SchemaText.Parse("i64:int64,i32:int32,f64:float64,f32:float32,name:string,flag:bool,absent:int64");

    private static readonly string[] s_integers =
        ["0", "-0", "7", "-42", "123456789012345678", "1234567890123456789", "2e+05", "1e5", "-3E+02", "1e+16", "9007199254740993e0",
         "2147483648", "-2147483649", " 12 ", "\"15\"", "1.0", "3.5", "", "NA", "abc", "+8", "0x1F", "1e-02", "2e+005"];

    private static readonly string[] s_decimals =
        ["0", "-0.0", "0.1", "1.25", "-1.5", "123456789012345", "1234567890123456789.5", "0.000001", "12345678.9", "1e-3", "2e+05",
         ".5", "5.", "+1.5", " 2.5", "\"3.25\"", "", "nan", "NaN", "Infinity", "-", "1,5", "1.2.3", "16777217", "0.30000000000000004"];

    private static readonly string[] s_texts = ["Oslo", "\"Ber,gen\"", "\"say \"\"hi\"\"\"", "", "NA", "  spaced ", "Tromsø", "x\"y\"z", "\"\"", "plain"];

    private static readonly string[] s_flags = ["true", "false", "1", "0", "yes", "", "maybe", "\"true\""];

    /// <summary>A file of <paramref name="lines"/> records from <paramref name="seed"/>, with the schema's columns in
    /// another order, a column the schema leaves out, and now and then a blank line, a wrong field count, invalid
    /// UTF-8 or a quoted line break.</summary>
    private static string WriteNumbers(string dir, int seed, int lines, bool crlf, bool multiline)
    {
        var random = new Random(seed);
        var newline = crlf ? "\r\n" : "\n";
        using var stream = new MemoryStream();
        void Text(string text) => stream.Write(Encoding.UTF8.GetBytes(text));
        string Pick(string[] values) => values[random.Next(values.Length)];
        string Integer() => random.Next(4) == 0 ? Pick(s_integers) : random.NextInt64(-10_000_000, 10_000_000).ToString(CultureInfo.InvariantCulture);
        string Decimal() => random.Next(4) == 0 ? Pick(s_decimals)
            : (random.NextInt64(-100_000_000, 100_000_000) / Math.Pow(10, random.Next(0, 9))).ToString(random.Next(2) == 0 ? "R" : "F3", CultureInfo.InvariantCulture);
        Text("f32,i64,unused,name,f64,i32,flag" + newline);
        for (var i = 0; i < lines; i++)
        {
            var kind = random.Next(200);
            if (kind < 2) Text(newline);
            else if (kind < 4) Text($"1,2,3{newline}");
            else if (kind < 5)
            {
                Text("1,2,");
                stream.Write([0xC3, 0x28]);
                Text($",x,1.5,3,true{newline}");
            }
            else if (multiline && i > lines / 2 && kind < 6) Text($"1.5,2,u,\"two{newline}lines\",2.5,3,true{newline}");
            else Text($"{Decimal()},{Integer()},{Pick(s_texts)},{Pick(s_texts)},{Decimal()},{Integer()},{Pick(s_flags)}{newline}");
        }
        if (random.Next(2) == 0) stream.SetLength(stream.Length - newline.Length); // the last line without its line break
        var path = Path.Combine(dir, $"bytes-{seed}-{lines}-{crlf}-{multiline}.csv");
        File.WriteAllBytes(path, stream.ToArray());
        return path;
    }

    private static async Task<ParallelCsvTests.Read> AssertSameAsSep(string path, int capacity, Schema? schema = null, IEnumerable<string>? nullTokens = null)
    {
        var sep = await ParallelCsvTests.ReadAsync(path, 1, capacity, schema, fromBytes: false, nullTokens);
        var bytes = await ParallelCsvTests.ReadAsync(path, 1, capacity, schema, fromBytes: true, nullTokens);
        Assert.Equal(sep.Rows.Count, bytes.Rows.Count);
        for (var i = 0; i < sep.Rows.Count; i++) Assert.Equal(sep.Rows[i], bytes.Rows[i]);
        Assert.Equal(sep.Letters, bytes.Letters);
        Assert.Equal(sep.Covered, bytes.Covered);
        Assert.Equal(sep.RecordsRead, bytes.RecordsRead);
        Assert.Equal(sep.Rejected, bytes.Rejected);
        Assert.Equal(0, sep.Handovers);
        return bytes;
    }

    public static TheoryData<int, int, bool, bool> Cases => new()
    {
        // lines, capacity, CRLF, multi-line records
        { 0, 4096, false, false },
        { 1, 7, false, false },
        { 300, 1, true, false },
        { 5_000, 7, false, true },
        { 6_000, 4096, true, false },
        { 6_000, 1000, false, true },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Numbers_text_and_bad_records_read_as_the_Sep_reader_reads_them(int lines, int capacity, bool crlf, bool multiline)
    {
        var path = WriteNumbers(TestData.TempDir(), seed: lines + capacity, lines, crlf, multiline);
        var read = await AssertSameAsSep(path, capacity, s_numbers);
        Assert.Equal(multiline && lines > 1000 ? 1 : 0, read.Handovers);
        // A numeric null sentinel makes every number go through the null check first.
        await AssertSameAsSep(path, capacity, s_numbers, nullTokens: ["", "NA", "-0", "7"]);
    }

    [Property(MaxTest = 10)]
    public Property Any_mix_of_fields_reads_as_the_Sep_reader_reads_it(int seed, bool crlf, bool multiline)
    {
        var capacities = new[] { 1, 7, 64, 500 };
        var path = WriteNumbers(TestData.TempDir(), seed, Math.Abs(seed % 1500), crlf, multiline);
        AssertSameAsSep(path, capacities[Math.Abs(seed % capacities.Length)], s_numbers).GetAwaiter().GetResult();
        return true.ToProperty();
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public async Task The_parallel_tests_files_read_as_the_Sep_reader_reads_them(bool bad, bool multiline)
    {
        var path = ParallelCsvTests.Write(TestData.TempDir(), seed: 21, 4_000, bad, multiline, crlf: multiline);
        var read = await AssertSameAsSep(path, 333);
        Assert.Equal(multiline ? 1 : 0, read.Handovers);
    }

    [Fact]
    public async Task The_credit_file_reads_the_same_with_an_inferred_schema()
    {
        var path = TestData.Data("credit_default", "UCI_Credit_Card.csv");
        var options = new FileSourceOptions();
        options.Paths.Add(path);
        var schema = FileSource.Create(options).Schema;
        var read = await AssertSameAsSep(path, 4096, schema);
        Assert.Equal(30_000, read.Rows.Count);
    }

    [Fact]
    public async Task A_lone_carriage_return_and_a_byte_order_mark_read_the_same()
    {
        var path = Path.Combine(TestData.TempDir(), "cr-bom.csv");
        var text = new StringBuilder("i64,f64\n");
        for (var i = 0; i < 2000; i++) text.Append(CultureInfo.InvariantCulture, $"{i},{i * 0.5}{(i == 1500 ? "\r" : "\n")}");
        File.WriteAllBytes(path, [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(text.ToString())]);
        var read = await AssertSameAsSep(path, 100, SchemaText.Parse("i64:int64,f64:float64"));
        Assert.Equal(1, read.Handovers);
    }

    [Fact]
    public async Task Several_files_in_one_source_read_as_the_Sep_reader_reads_them()
    {
        // The second and third files reuse the first one's buffer.
        var dir = TestData.TempDir();
        string[] paths = [WriteNumbers(dir, 3, 3000, false, false), WriteNumbers(dir, 4, 200, true, false), WriteNumbers(dir, 5, 1200, false, true)];
        async Task<List<string>> Read(bool fromBytes)
        {
            var options = new FileSourceOptions { Schema = s_numbers, CsvFromBytes = fromBytes };
            foreach (var path in paths) options.Paths.Add(path);
            await using var source = FileSource.Create(options);
            var dead = new CollectingDeadLetterSink();
            await source.OpenAsync(new SourceContext("files", dead), CancellationToken.None);
            using var batch = new ColumnBatch(source.Schema, 512);
            var rows = new List<string>();
            bool more;
            do
            {
                batch.Reset();
                more = await source.FillAsync(batch, CancellationToken.None);
                for (var row = 0; row < batch.Length; row++) rows.Add($"{batch.RowPartitions[row]}:{batch.RowOffsets[row]} {DeadLetter.FormatRow(batch, row)}");
            }
            while (more);
            rows.AddRange(dead.Letters.Select(l => $"{l.Rule}|{l.Location}|{l.Message}|{l.Raw}"));
            return rows;
        }
        var sep = await Read(fromBytes: false);
        Assert.Equal(sep, await Read(fromBytes: true));
        Assert.True(sep.Count > 4000, $"{sep.Count} rows and dead letters");
    }

    [Fact]
    public async Task Steady_state_batches_allocate_nothing()
    {
        const int capacity = 1024;
        var path = Path.Combine(TestData.TempDir(), "steady.csv");
        var text = new StringBuilder("i64,f64,f32,i32,name,flag\n");
        for (var i = 0; i < 120 * capacity; i++)
            text.Append(CultureInfo.InvariantCulture, $"{i},{i * 0.25},{i % 1000 * 0.5},{i % 5000},n{i % 7},{(i % 3 == 0 ? "true" : "false")}\n");
        File.WriteAllText(path, text.ToString());
        var options = new FileSourceOptions { Schema = SchemaText.Parse("i64:int64,f64:float64,f32:float32,i32:int32,name:string,flag:bool") };
        options.Paths.Add(path);
        await using var source = FileSource.Create(options);
        await source.OpenAsync(new SourceContext("alloc", new CollectingDeadLetterSink()), CancellationToken.None);
        using var batch = new ColumnBatch(source.Schema, capacity);
        var rows = 0L;
        void Fill()
        {
            batch.Reset();
            source.FillAsync(batch, CancellationToken.None).AsTask().GetAwaiter().GetResult();
            rows += batch.Length;
        }
        for (var i = 0; i < 10; i++) Fill();
        var perBatch = SteadyState.AllocatedBytes(Fill, iterations: 20, rounds: 4) / 20;
        Assert.True(rows >= 90L * capacity, $"{rows} rows");
        Assert.True(perBatch < 64, $"{perBatch} bytes allocated per batch of {capacity} rows");
    }
}

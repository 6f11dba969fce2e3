using System.Globalization;
using System.Text;
using StreamMl.Connectors.Files;
using StreamMl.Connectors.Parquet;
using StreamMl.Engine;

namespace StreamMl.Connectors.Tests.Files;

/// <summary>Issue 12 item 5: what the file sources used to change without a word (trimmed text, invented all-null rows,
/// a column turned to string by one stray word, rounded big integers, columns of later files dropped). Each test
/// checks our Parquet output against DuckDB reading the same source file.</summary>
public sealed class SilentChangeTests
{
    private sealed record Run(FileSource Source, CollectingDeadLetterSink Dead, string Output)
    {
        public List<object?[]> Rows(string columns) =>
            TestData.Query($"SELECT {columns} FROM read_parquet('{TestData.Glob(Output)}', union_by_name = true) ORDER BY id");
    }

    private static async Task<Run> Ingest(FileSourceOptions options)
    {
        var run = await TestData.IngestToParquetAsync(options);
        return new Run(run.Source, run.Dead, run.Output);
    }

    private static FileSourceOptions Options(params string[] paths)
    {
        var options = new FileSourceOptions();
        foreach (var path in paths) options.Paths.Add(path);
        return options;
    }

    private static string Write(string dir, string name, string text)
    {
        var path = Path.Combine(dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static string Sql(string path) => path.Replace("'", "''");

    private const string PaddedCsv = "id,name,amount\n1,\"  padded  \",1.5\n2,  bare  , 2.5 \n3,plain,3\n4,   ,4\n5,\"\t tab\",5\n";

    [Fact]
    public async Task Csv_KeepsTextExactlyAsInTheFile_LikeDuckDb()
    {
        var csv = Write(TestData.TempDir(), "padded.csv", PaddedCsv);
        var options = Options(csv);
        options.Schema = SchemaText.Parse("id:int64,name:string,amount:float64");
        var run = await Ingest(options);

        var expected = TestData.Query($"SELECT id, name, TRY_CAST(amount AS DOUBLE) FROM read_csv('{Sql(csv)}', header = true, all_varchar = true) ORDER BY id::BIGINT");
        var actual = run.Rows("id, name, amount");
        Assert.Equal(5, expected.Count);
        Assert.Equal(expected.Select(r => (string?)r[1]), actual.Select(r => (string?)r[1]));
        Assert.Equal("  padded  ", actual[0][1]);
        Assert.Equal("   ", actual[3][1]); // only white space is text too, as in DuckDB
        // Numbers with spaces around them still parse (DuckDB's CAST and pandas do the same).
        Assert.Equal(expected.Select(r => (double?)r[2]), actual.Select(r => (double?)r[2]));
        Assert.Empty(run.Dead.Letters);
    }

    [Fact]
    public async Task Csv_TrimOnRequest_TrimsEveryString()
    {
        var csv = Write(TestData.TempDir(), "padded.csv", PaddedCsv);
        var options = Options(csv);
        options.Schema = SchemaText.Parse("id:int64,name:string,amount:float64");
        options.Trim = true;
        var run = await Ingest(options);
        var expected = TestData.Query($"SELECT id, NULLIF(trim(name, ' ' || chr(9)), '') FROM read_csv('{Sql(csv)}', header = true, all_varchar = true) ORDER BY id::BIGINT");
        Assert.Equal(expected.Select(r => (string?)r[1]), run.Rows("id, name").Select(r => (string?)r[1]));
        Assert.Equal("padded", run.Rows("id, name")[0][1]);
    }

    [Fact]
    public async Task JsonLines_KeepsStringSpaces_LikeDuckDb()
    {
        var path = Write(TestData.TempDir(), "padded.jsonl",
            "{\"id\":1,\"name\":\"  a  \"}\n{\"id\":2,\"name\":\" \"}\n{\"id\":3,\"name\":\"b \"}\n");
        var run = await Ingest(Options(path));
        var expected = TestData.Query($"SELECT id, name FROM read_json('{Sql(path)}', format = 'newline_delimited') ORDER BY id");
        Assert.Equal(expected.Select(r => (string?)r[1]), run.Rows("id, name").Select(r => (string?)r[1]));
        Assert.Equal("  a  ", run.Rows("id, name")[0][1]);
    }

    [Fact]
    public async Task JsonLine_WithNoneOfTheSchemasKeys_IsDeadLettered_NotAnAllNullRow()
    {
        var path = Write(TestData.TempDir(), "keys.jsonl", string.Join('\n',
            "{\"id\":1,\"name\":\"a\"}",
            "{\"other\":5,\"x\":\"y\"}",
            "{}",
            "{\"id\":2,\"name\":null}",
            "{\"name\":\"c\"}",
            "{\"nested\":{\"id\":9}}") + "\n");
        var options = Options(path);
        options.Schema = SchemaText.Parse("id:int64,name:string");
        var run = await Ingest(options);

        // DuckDB says which lines hold neither key (json_extract is SQL NULL only for a missing path).
        var lines = TestData.Query($"SELECT json FROM read_ndjson_objects('{Sql(path)}')");
        var keyless = TestData.Query(
            $"SELECT count(*) FROM read_ndjson_objects('{Sql(path)}') WHERE json_extract(json, '$.id') IS NULL AND json_extract(json, '$.name') IS NULL");
        Assert.Equal(3L, Convert.ToInt64(keyless[0][0], CultureInfo.InvariantCulture));
        Assert.Equal(lines.Count - 3, run.Rows("id, name").Count);
        var letters = run.Dead.Letters.OrderBy(l => l.Offset).ToList();
        Assert.Equal([2L, 3, 6], letters.Select(l => l.Offset));
        Assert.All(letters, l => Assert.Equal("json-fields", l.Rule));
        Assert.Contains("none of the schema's fields (id, name)", letters[0].Message);
        Assert.Contains("other, x", letters[0].Message);
        Assert.Contains("keys.jsonl line 2", letters[0].Message);
    }

    [Fact]
    public async Task JsonLine_WithoutSchemaKeys_AndAComment_IsDeadLettered_TheFileReadsOn()
    {
        // The reader skips comments, so the message listing the line's keys must too (it threw JsonException before,
        // which stopped the whole run).
        var path = Write(TestData.TempDir(), "comment.jsonl", string.Join('\n',
            "{\"id\":1,\"name\":\"a\"}",
            "{\"other\":5 /* no schema key here */}",
            "{\"id\":2,\"name\":\"b\"}") + "\n");
        var options = Options(path);
        options.Schema = SchemaText.Parse("id:int64,name:string");
        var run = await Ingest(options);
        Assert.Equal([1L, 2L], run.Rows("id, name").Select(r => (long)r[0]!));
        var letter = Assert.Single(run.Dead.Letters);
        Assert.Equal(("json-fields", 2L), (letter.Rule, letter.Offset));
        Assert.Contains("its keys: other", letter.Message);
    }

    [Fact]
    public async Task JsonLine_WhoseObjectAboveTheSchemasPathsIsNull_IsARowOfNulls_NotDeadLettered()
    {
        // {"user": null} says the user's fields are null: it holds the schema's paths, as DuckDB's read_json reads it.
        var path = Write(TestData.TempDir(), "nested.jsonl", string.Join('\n',
            "{\"user\":{\"name\":\"a\",\"address\":{\"city\":\"Oslo\"}}}",
            "{\"user\":null}",
            "{\"user\":{\"name\":\"b\",\"address\":null}}",
            "{\"other\":1}") + "\n");
        var options = Options(path);
        options.Schema = SchemaText.Parse("name:string,city:string");
        options.JsonPaths["name"] = "user.name";
        options.JsonPaths["city"] = "user.address.city";
        var run = await TestData.IngestToParquetAsync(options);

        var expected = TestData.Query($"SELECT json_extract_string(json, '$.user.name'), json_extract_string(json, '$.user.address.city') "
            + $"FROM read_ndjson_objects('{Sql(path)}') WHERE json_exists(json, '$.user')");
        var actual = TestData.Query($"SELECT name, city FROM read_parquet('{TestData.Glob(run.Output)}')");
        Assert.Equal(3, expected.Count);
        Assert.Equal(expected.Select(r => ((string?)r[0], (string?)r[1])).Order(), actual.Select(r => ((string?)r[0], (string?)r[1])).Order());
        var letter = Assert.Single(run.Dead.Letters);
        Assert.Equal(("json-fields", 4L), (letter.Rule, letter.Offset));
    }

    [Fact]
    public async Task JsonField_HoldingAnArrayOrObject_IsATypeError_NotANullValue()
    {
        // Before: lines 2 and 3 became rows with name null (the array skipped, the object's leaves not the field), and
        // line 4 was dead-lettered as having "none of the schema's fields ... (its keys: name)".
        var path = Write(TestData.TempDir(), "shapes.jsonl", string.Join('\n',
            "{\"id\":1,\"name\":\"a\",\"tags\":[1,2]}",
            "{\"id\":2,\"name\":[\"x\"]}",
            "{\"id\":3,\"name\":{\"first\":\"y\"}}",
            "{\"name\":[1]}") + "\n");
        var options = Options(path);
        options.Schema = SchemaText.Parse("id:int64,name:string");
        var run = await TestData.IngestToParquetAsync(options);

        var nonScalar = TestData.Query($"SELECT json_extract(json, '$.id')::BIGINT FROM read_ndjson_objects('{Sql(path)}') "
            + "WHERE json_type(json, '$.name') IN ('ARRAY', 'OBJECT')");
        Assert.Equal(3, nonScalar.Count);
        Assert.Equal([1L], TestData.Query($"SELECT id FROM read_parquet('{TestData.Glob(run.Output)}')").Select(r => (long)r[0]!));
        var letters = run.Dead.Letters.OrderBy(l => l.Offset).ToList();
        Assert.Equal([2L, 3, 4], letters.Select(l => l.Offset));
        Assert.All(letters, l => Assert.Equal("type", l.Rule));
        Assert.Contains("field 'name' (path name) is an array, not a string", letters[0].Message);
        Assert.Contains("field 'name' (path name) is an object, not a string", letters[1].Message);
    }

    private static string MostlyNumbers(string dir, int rows, int badRow, string bad)
    {
        var text = new StringBuilder("id,value\n");
        for (var i = 1; i <= rows; i++) text.Append(i).Append(',').Append(i == badRow ? bad : (i * 7).ToString(CultureInfo.InvariantCulture)).Append('\n');
        return Write(dir, "mostly.csv", text.ToString());
    }

    [Fact]
    public async Task OneWordInTwoThousandNumbers_InfersTheMajorityType_ReportsItAndDeadLettersItsRow()
    {
        var csv = MostlyNumbers(TestData.TempDir(), 2000, 1200, "abc");
        var run = await Ingest(Options(csv));

        var value = Assert.Single(run.Source.Inference!.Columns, c => c.Name == "value");
        Assert.Equal(ColumnType.Int64, value.Type);
        Assert.Equal(1, value.Outliers);
        var outlier = Assert.Single(value.OutlierExamples);
        Assert.Equal(1201, outlier.Line); // the header is line 1
        Assert.Equal("abc", outlier.Value);
        var printed = run.Source.Inference.ToString();
        Assert.Contains("line 1201", printed);
        Assert.Contains("'abc'", printed);

        // DuckDB's own reading of the file: the values that are integers, exactly those we wrote.
        var expected = TestData.Query($"SELECT id::BIGINT, TRY_CAST(value AS BIGINT) AS v FROM read_csv('{Sql(csv)}', header = true, all_varchar = true) WHERE v IS NOT NULL ORDER BY 1");
        var actual = run.Rows("id, value");
        Assert.Equal(1999, expected.Count);
        Assert.Equal(expected.Select(r => ((long)r[0]!, (long)r[1]!)), actual.Select(r => ((long)r[0]!, (long)r[1]!)));
        Assert.Equal("BIGINT", TestData.Query($"SELECT typeof(value) FROM read_parquet('{TestData.Glob(run.Output)}') LIMIT 1")[0][0]);
        var letter = Assert.Single(run.Dead.Letters);
        Assert.Equal("type", letter.Rule);
        Assert.Equal(1201, letter.Offset);
        Assert.Contains("'abc'", letter.Message);
    }

    /// <summary>What inference reports as the rows it will dead-letter is what reading dead-letters: a value the reader
    /// accepts (yes/1/t in a true/false column) is no outlier, and a value inference counts as an integer is one the
    /// int64 reader takes (1e17 is past the 2^53 up to which an exponent form is read as an exact integer).</summary>
    [Theory]
    [InlineData("yes", 0)]
    [InlineData("1", 0)]
    [InlineData(" t ", 0)]
    [InlineData("42", 1)]
    [InlineData("maybe", 1)]
    public async Task BooleanColumn_OutliersReported_AreTheRowsDeadLettered(string odd, int deadLettered)
    {
        var text = new StringBuilder("id,flag\n");
        for (var i = 1; i <= 200; i++) text.Append(i).Append(',').Append(i == 150 ? odd : i % 3 == 0 ? "true" : "false").Append('\n');
        var run = await Ingest(Options(Write(TestData.TempDir(), "flags.csv", text.ToString())));
        var flag = Assert.Single(run.Source.Inference!.Columns, c => c.Name == "flag");
        Assert.Equal(ColumnType.Bool, flag.Type);
        Assert.Equal(deadLettered, run.Dead.Count);
        Assert.Equal(deadLettered, flag.Outliers);
        Assert.Equal(deadLettered == 0 ? [] : [151L], run.Dead.Letters.Select(l => l.Offset)); // row 150, after the header
        Assert.Equal(deadLettered == 0 ? [] : [odd], flag.OutlierExamples.Select(v => v.Value));
    }

    [Fact]
    public async Task IntegerInExponentFormPastTwoToThe53_MakesAFloatColumn_NotAnInt64ColumnThatRejectsIt()
    {
        var csv = Write(TestData.TempDir(), "exp.csv", "id,value\n1,5\n2,1e+05\n3,1e17\n4,7\n");
        var run = await Ingest(Options(csv));
        var value = Assert.Single(run.Source.Inference!.Columns, c => c.Name == "value");
        Assert.Equal(value.Outliers, run.Dead.Count);
        Assert.Empty(run.Dead.Letters);
        var expected = TestData.Query($"SELECT id::BIGINT, TRY_CAST(value AS DOUBLE) FROM read_csv('{Sql(csv)}', header = true, all_varchar = true) ORDER BY 1");
        Assert.Equal(expected.Select(r => (double?)r[1]), run.Rows("id, value").Select(r => Convert.ToDouble(r[1], CultureInfo.InvariantCulture)).Cast<double?>());
    }

    /// <summary>Below one half, a kind that is not the majority could win and dead-letter most rows; at 0 (or NaN) a
    /// column of plain words became true/false and every row was dead-lettered.</summary>
    [Theory]
    [InlineData(0.0)]
    [InlineData(0.49)]
    [InlineData(1.01)]
    [InlineData(double.NaN)]
    public void InferenceThreshold_OutsideOneHalfToOne_IsRefused(double threshold)
    {
        var options = Options(Write(TestData.TempDir(), "words.csv", "id,name\n1,anna\n2,bo\n"));
        options.InferenceThreshold = threshold;
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => FileSource.Create(options));
        Assert.Contains("InferenceThreshold must be between 0.5 and 1", error.Message);
    }

    [Fact]
    public void MixedColumnBelowTheThreshold_StaysString()
    {
        // 30 of 2000 (1.5 %) are words: more than the 1 % a column may hold before it is read as text.
        var dir = TestData.TempDir();
        var text = new StringBuilder("id,value\n");
        for (var i = 1; i <= 2000; i++) text.Append(i).Append(',').Append(i % 66 == 0 ? "n/a-ish" : i.ToString(CultureInfo.InvariantCulture)).Append('\n');
        var source = FileSource.Create(Options(Write(dir, "mixed.csv", text.ToString())));
        var value = Assert.Single(source.Inference!.Columns, c => c.Name == "value");
        Assert.Equal(ColumnType.String, value.Type);
        Assert.Equal(0, value.Outliers);
    }

    [Fact]
    public async Task IntegersPastInt64_StayExact_AsString_InCsv()
    {
        var csv = Write(TestData.TempDir(), "big.csv", "id,big\n1,9223372036854775808\n2,123456789012345678901\n3,5\n4,-9223372036854775809\n");
        var run = await Ingest(Options(csv));
        var big = Assert.Single(run.Source.Inference!.Columns, c => c.Name == "big");
        Assert.Equal(ColumnType.String, big.Type);
        Assert.Contains("int64", big.Reason);
        Assert.Contains("9223372036854775808", run.Source.Inference.ToString());
        // DuckDB itself reads these as DOUBLE (9.223372036854776e+18): compare with the file's text instead.
        var expected = TestData.Query($"SELECT id, big FROM read_csv('{Sql(csv)}', header = true, all_varchar = true) ORDER BY id::BIGINT");
        Assert.Equal(expected.Select(r => (string?)r[1]), run.Rows("id, big").Select(r => (string?)r[1]));
        Assert.Equal("123456789012345678901", run.Rows("id, big")[1][1]);
    }

    [Fact]
    public async Task IntegersPastInt64_StayExact_AsString_InJsonLines()
    {
        var path = Write(TestData.TempDir(), "big.jsonl", "{\"id\":1,\"big\":9223372036854775808}\n{\"id\":2,\"big\":123456789012345678901}\n{\"id\":3,\"big\":5}\n");
        var run = await Ingest(Options(path));
        Assert.Equal(ColumnType.String, run.Source.Schema[run.Source.Schema.IndexOf("big")].Type);
        var expected = TestData.Query($"SELECT json_extract(json, '$.big')::VARCHAR FROM read_ndjson_objects('{Sql(path)}')");
        Assert.Equal(expected.Select(r => (string?)r[0]), run.Rows("id, big").Select(r => (string?)r[1]));
    }

    [Fact]
    public async Task IntegersPastInt64_DeclaredInt64_AreDeadLettered()
    {
        var csv = Write(TestData.TempDir(), "big.csv", "id,big\n1,9223372036854775808\n2,123456789012345678901\n3,5\n");
        var options = Options(csv);
        options.Schema = SchemaText.Parse("id:int64,big:int64");
        var run = await Ingest(options);
        Assert.Equal([5L], run.Rows("id, big").Select(r => (long)r[1]!));
        Assert.Equal([2L, 3], run.Dead.Letters.Select(l => l.Offset).Order());
        Assert.All(run.Dead.Letters, l => Assert.Equal("type", l.Rule));
    }

    [Fact]
    public async Task ColumnOnlyInALaterFile_IsAddedAsNullable_AndReported()
    {
        var dir = TestData.TempDir();
        var a = Write(dir, "a.csv", "id,x\n1,10\n2,20\n");
        var b = Write(dir, "b.csv", "id,x,extra\n3,30,hello\n4,40,world\n");
        var run = await Ingest(Options(dir));

        Assert.Contains(run.Source.Schema, f => f.Name == "extra" && f.Nullable);
        var change = Assert.Single(run.Source.Inference!.Changes);
        Assert.Equal(SchemaChangeKind.Added, change.Kind);
        Assert.Equal("extra", change.Column);
        Assert.Equal(b, change.File);
        Assert.Contains("b.csv", run.Source.Inference.ToString());

        var expected = TestData.Query(
            $"SELECT id, extra FROM read_csv(['{Sql(a)}', '{Sql(b)}'], header = true, union_by_name = true) ORDER BY id");
        Assert.Equal(expected.Select(r => (string?)r[1]), run.Rows("id, extra").Select(r => (string?)r[1]));
    }

    [Fact]
    public void LaterFiles_HeaderMatchedAsTheReaderMatchesIt_AndMissingColumnsReported()
    {
        var dir = TestData.TempDir();
        Write(dir, "a.csv", "id,x,y\n1,10,5\n");
        var b = Write(dir, "b.csv", "ID, x\n2,20\n"); // the reader matches ' x' and 'ID' to x and id
        var source = FileSource.Create(Options(dir));
        Assert.Equal(["id", "x", "y"], source.Schema.Select(f => f.Name));
        var change = Assert.Single(source.Inference!.Changes);
        Assert.Equal((b, "y", SchemaChangeKind.Missing), (change.File, change.Column, change.Kind));
    }

    [Fact]
    public async Task ColumnNotInADeclaredSchema_IsReportedPerFile()
    {
        var dir = TestData.TempDir();
        Write(dir, "a.csv", "id,x\n1,10\n");
        var b = Write(dir, "b.csv", "id,extra\n3,hello\n");
        var options = Options(dir);
        options.Schema = SchemaText.Parse("id:int64,x:int64");
        var run = await Ingest(options);
        var changes = run.Source.SchemaChanges.OrderBy(c => c.Kind).ToList();
        Assert.Equal(2, changes.Count);
        Assert.Equal((b, "extra", SchemaChangeKind.NotRead), (changes[0].File, changes[0].Column, changes[0].Kind));
        Assert.Equal((b, "x", SchemaChangeKind.Missing), (changes[1].File, changes[1].Column, changes[1].Kind));
        Assert.Contains("b.csv", changes[0].ToString());
        Assert.Equal([10L, null], run.Rows("id, x").Select(r => (long?)r[1]));
    }

    [Fact]
    public async Task ColumnsADeclaredSchemaLeavesOut_AreNotReported_OnlyWhatChangesBetweenFiles()
    {
        var dir = TestData.TempDir();
        Write(dir, "a.csv", "id,x,unused\n1,10,u\n");
        Write(dir, "b.csv", "id,x,unused\n2,20,v\n");
        var options = Options(dir);
        options.Schema = SchemaText.Parse("id:int64,x:int64");
        var run = await Ingest(options);
        Assert.Empty(run.Source.SchemaChanges);
        Assert.Equal([10L, 20L], run.Rows("id, x").Select(r => (long)r[1]!));
    }

    [Fact]
    public async Task ParquetFileWithAColumnTheSchemaLacks_IsReportedAsNotRead()
    {
        var dir = TestData.TempDir();
        var a = Path.Combine(dir, "a.parquet").Replace("'", "''");
        var b = Path.Combine(dir, "b.parquet");
        TestData.Query($"COPY (SELECT 1::BIGINT AS id) TO '{a}' (FORMAT parquet)");
        var options = Options(Path.Combine(dir, "a.parquet"));
        var source = FileSource.Create(options); // schema inferred from a.parquet alone
        TestData.Query($"COPY (SELECT 2::BIGINT AS id, 'late' AS extra) TO '{Sql(b)}' (FORMAT parquet)");
        var declared = Options(Path.Combine(dir, "a.parquet"), b);
        declared.Schema = source.Schema;
        var run = await Ingest(declared);
        var change = Assert.Single(run.Source.SchemaChanges);
        Assert.Equal((b, "extra", SchemaChangeKind.NotRead), (change.File, change.Column, change.Kind));
        Assert.Equal([1L, 2L], run.Rows("id").Select(r => (long)r[0]!));
    }

    [Fact]
    public async Task KeyOnlyInALaterJsonFile_IsAddedAsNullable()
    {
        var dir = TestData.TempDir();
        var a = Write(dir, "a.jsonl", "{\"id\":1}\n{\"id\":2}\n");
        var b = Write(dir, "b.jsonl", "{\"id\":3,\"user\":{\"city\":\"Oslo\"}}\n");
        var run = await Ingest(Options(dir));
        Assert.Contains(run.Source.Schema, f => f.Name == "user.city");
        var expected = TestData.Query($"SELECT json_extract_string(json, '$.user.city') FROM read_ndjson_objects(['{Sql(a)}', '{Sql(b)}'])");
        Assert.Equal(expected.Select(r => (string?)r[0]), run.Rows("id, \"user.city\"").Select(r => (string?)r[1]));
    }
}

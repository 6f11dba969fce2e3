using System.Globalization;
using BenchmarkDotNet.Attributes;
using CsvHelper;
using nietras.SeparatedValues;
using Parquet.Serialization;
using StreamMl.Connectors.Files;
using StreamMl.Connectors.Parquet;
using StreamMl.Engine;
using StreamMl.Operators.Validation;

namespace StreamMl.Benchmarks.Files;

/// <summary>CSV → validate → Parquet over the real credit-default file (30,000 rows × 25 columns, 2.86 MB), one
/// operation = the whole file. Three ways, same run:
/// the floor, a bare Sep loop that parses every field and does nothing else;
/// StreamMl, FileSource → Validator (a required column, two ranges, per-column profile for the report) → ParquetSink
/// (snappy, integer columns delta-encoded), through the pipeline;
/// the usual approach, CsvHelper row objects, the same checks in LINQ, and Parquet.Net's object serializer (snappy).</summary>
[MemoryDiagnoser]
[Config(typeof(TableConfig))]
public partial class FileIngestBenchmarks
{
    /// <summary>Adds the median and minimum columns, which a shared, loaded machine makes more telling than the mean.</summary>
    public sealed class TableConfig : BenchmarkDotNet.Configs.ManualConfig
    {
        public TableConfig() => AddColumn(BenchmarkDotNet.Columns.StatisticColumn.Median, BenchmarkDotNet.Columns.StatisticColumn.Min);
    }

    private string _input = "";
    private string _output = "";
    private int _run;

    [GlobalSetup]
    public void Setup()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "StreamMl.sln"))) dir = dir.Parent;
        _input = Path.GetFullPath(Path.Combine(dir?.FullName ?? throw new InvalidOperationException("StreamMl.sln not found"),
            "..", "shared", "data", "credit_default", "UCI_Credit_Card.csv"));
        _output = Path.Combine(Path.GetTempPath(), "streamml-bench-files", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_output);
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_output, recursive: true);

    private string NextFolder() => Path.Combine(_output, (_run++).ToString(CultureInfo.InvariantCulture));

    /// <summary>The floor: Sep parses every field as a long and sums them.</summary>
    [Benchmark(Baseline = true)]
    public long SepParseLoop() => SepParse(_input);

    /// <summary>The bare Sep loop both file benchmarks measure against.</summary>
    internal static long SepParse(string path)
    {
        using var reader = Sep.Reader(o => o with { CultureInfo = CultureInfo.InvariantCulture }).FromFile(path);
        var columns = reader.Header.ColNames.Count;
        long sum = 0;
        foreach (var row in reader)
            for (var c = 0; c < columns; c++)
                sum += (long)row[c].Parse<double>();
        return sum;
    }

    /// <summary>StreamMl: the file job's pipeline with a declared schema (inference would read the file once more).</summary>
    [Benchmark]
    public Task<long> StreamMlPipeline() => RunStreamMl(ParquetSinkOptions.DefaultRowGroupRows);

    /// <summary>The same with row groups of 65,536 rows (the default before): the file fits in one group, so the sink
    /// encodes everything after the source has finished.</summary>
    [Benchmark]
    public Task<long> StreamMlPipelineRowGroups64k() => RunStreamMl(65_536);

    private async Task<long> RunStreamMl(int rowGroupRows)
    {
        var options = new FileSourceOptions { Schema = s_schema };
        options.Paths.Add(_input);
        var source = FileSource.Create(options);
        var validator = new Validator([new RequiredRule("LIMIT_BAL"), new RangeRule("AGE", 18, 100), new RangeRule("LIMIT_BAL", 0, 2_000_000)]);
        var sink = new ParquetSink(new ParquetSinkOptions { Directory = NextFolder(), Compression = ParquetCompression.Snappy, RowGroupRows = rowGroupRows });
        await using (var pipeline = Pipeline.From(source).Then(validator).To(sink).Build())
            await pipeline.RunAsync();
        return sink.RowsWritten;
    }

    /// <summary>The usual approach: CsvHelper (34, source-generated mapping) materialises one object per row, LINQ checks them, Parquet.Net serialises the list.</summary>
    [Benchmark]
    public async Task<long> CsvHelperRowObjectsParquetNet()
    {
        List<CreditRow> rows;
        using (var csv = CsvReader.FromFile(_input))
            rows = [.. csv.GetRecords<CreditRow>().Where(r => r.AGE is >= 18 and <= 100 && r.LIMIT_BAL is >= 0 and <= 2_000_000)];
        var folder = NextFolder();
        Directory.CreateDirectory(folder);
        // The same codec as the StreamMl sink (snappy is also Parquet.Net's default; stated so the two never drift apart).
        await ParquetSerializer.SerializeAsync(rows, Path.Combine(folder, "part.parquet"),
            new global::Parquet.ParquetOptions { CompressionMethod = global::Parquet.CompressionMethod.Snappy });
        return rows.Count;
    }

    private static readonly Schema s_schema = new(
        new[] { "ID", "LIMIT_BAL", "SEX", "EDUCATION", "MARRIAGE", "AGE", "PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6",
            "BILL_AMT1", "BILL_AMT2", "BILL_AMT3", "BILL_AMT4", "BILL_AMT5", "BILL_AMT6",
            "PAY_AMT1", "PAY_AMT2", "PAY_AMT3", "PAY_AMT4", "PAY_AMT5", "PAY_AMT6", "default.payment.next.month" }
        .Select(n => new Field(n, ColumnType.Int64)));

    /// <summary>One row of the credit file as the row-object approach models it. Doubles, because the file writes some
    /// integers as <c>1e+05</c>, which CsvHelper cannot read into a long.</summary>
    [CsvRecord]
    public sealed partial class CreditRow
    {
        public double ID { get; set; }
        public double LIMIT_BAL { get; set; }
        public double SEX { get; set; }
        public double EDUCATION { get; set; }
        public double MARRIAGE { get; set; }
        public double AGE { get; set; }
        public double PAY_0 { get; set; }
        public double PAY_2 { get; set; }
        public double PAY_3 { get; set; }
        public double PAY_4 { get; set; }
        public double PAY_5 { get; set; }
        public double PAY_6 { get; set; }
        public double BILL_AMT1 { get; set; }
        public double BILL_AMT2 { get; set; }
        public double BILL_AMT3 { get; set; }
        public double BILL_AMT4 { get; set; }
        public double BILL_AMT5 { get; set; }
        public double BILL_AMT6 { get; set; }
        public double PAY_AMT1 { get; set; }
        public double PAY_AMT2 { get; set; }
        public double PAY_AMT3 { get; set; }
        public double PAY_AMT4 { get; set; }
        public double PAY_AMT5 { get; set; }
        public double PAY_AMT6 { get; set; }
        [CsvColumn("default.payment.next.month")]
        public double Default { get; set; }
    }
}

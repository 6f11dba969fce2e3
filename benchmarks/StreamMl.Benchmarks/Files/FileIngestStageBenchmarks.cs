using System.Globalization;
using BenchmarkDotNet.Attributes;
using StreamMl.Connectors.Files;
using StreamMl.Connectors.Parquet;
using StreamMl.Engine;
using StreamMl.Operators.Validation;

namespace StreamMl.Benchmarks.Files;

/// <summary>The stages of <see cref="FileIngestBenchmarks"/> one at a time on one thread, over the same credit file:
/// the source filling every batch, the validator (with its per-column profile) over those batches, and the Parquet sink
/// writing them with each codec. Shows where the pipeline's time goes; the Sep loop is the same floor.</summary>
[MemoryDiagnoser]
[Config(typeof(FileIngestBenchmarks.TableConfig))]
public class FileIngestStageBenchmarks
{
    private static readonly Schema s_schema = new(
        new[] { "ID", "LIMIT_BAL", "SEX", "EDUCATION", "MARRIAGE", "AGE", "PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6",
            "BILL_AMT1", "BILL_AMT2", "BILL_AMT3", "BILL_AMT4", "BILL_AMT5", "BILL_AMT6",
            "PAY_AMT1", "PAY_AMT2", "PAY_AMT3", "PAY_AMT4", "PAY_AMT5", "PAY_AMT6", "default.payment.next.month" }
        .Select(n => new Field(n, ColumnType.Int64)));

    private readonly List<ColumnBatch> _batches = [];
    private readonly StageContext _context = StageContext.Standalone("validate");
    private string _input = "";
    private string _output = "";
    private int _filled;
    private int _run;

    [GlobalSetup]
    public void Setup()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "StreamMl.sln"))) dir = dir.Parent;
        _input = Path.GetFullPath(Path.Combine(dir?.FullName ?? throw new InvalidOperationException("StreamMl.sln not found"),
            "..", "shared", "data", "credit_default", "UCI_Credit_Card.csv"));
        _output = Path.Combine(Path.GetTempPath(), "streamml-bench-stages", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_output);
        for (var i = 0; i < 9; i++) _batches.Add(new ColumnBatch(s_schema));
        _filled = FillAll();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var batch in _batches) batch.Dispose();
        Directory.Delete(_output, recursive: true);
    }

    /// <summary>The floor, as in <see cref="FileIngestBenchmarks.SepParseLoop"/>.</summary>
    [Benchmark(Baseline = true)]
    public long SepParseLoop() => FileIngestBenchmarks.SepParse(_input);

    /// <summary>FileSource parsing the whole file into batches (the same batches every run).</summary>
    [Benchmark]
    public int SourceFill() => FillAll();

    /// <summary>The benchmark's validator, its profile included, over every batch.</summary>
    [Benchmark]
    public long Validate()
    {
        var validator = new Validator([new RequiredRule("LIMIT_BAL"), new RangeRule("AGE", 18, 100), new RangeRule("LIMIT_BAL", 0, 2_000_000)]);
        validator.Bind(s_schema);
        for (var i = 0; i < _filled; i++) validator.Process(_batches[i], _context);
        return validator.RowsOut;
    }

    /// <summary>The Parquet sink writing every batch to one published file, snappy (the default).</summary>
    [Benchmark]
    public Task<long> SinkSnappy() => Sink(ParquetCompression.Snappy);

    /// <summary>The same with zstd.</summary>
    [Benchmark]
    public Task<long> SinkZstd() => Sink(ParquetCompression.Zstd);

    /// <summary>The same with gzip at its fastest level.</summary>
    [Benchmark]
    public Task<long> SinkGzip() => Sink(ParquetCompression.Gzip);

    /// <summary>The same uncompressed.</summary>
    [Benchmark]
    public Task<long> SinkUncompressed() => Sink(ParquetCompression.None);

    private async Task<long> Sink(ParquetCompression compression)
    {
        var sink = new ParquetSink(new ParquetSinkOptions { Directory = Path.Combine(_output, (_run++).ToString(CultureInfo.InvariantCulture)), Compression = compression });
        await sink.OpenAsync(SinkContext.Standalone(s_schema), CancellationToken.None);
        for (var i = 0; i < _filled; i++) sink.Write(_batches[i], i);
        await sink.DisposeAsync();
        return sink.RowsWritten;
    }

    private int FillAll()
    {
        var options = new FileSourceOptions { Schema = s_schema };
        options.Paths.Add(_input);
        var source = FileSource.Create(options);
        source.OpenAsync(new SourceContext("stages", new CollectingDeadLetterSink()), CancellationToken.None).AsTask().GetAwaiter().GetResult();
        var filled = 0;
        for (var more = true; more; filled++)
        {
            var batch = _batches[filled];
            batch.Reset();
            more = source.FillAsync(batch, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        }
        return filled;
    }
}

using BenchmarkDotNet.Attributes;
using StreamMl.Connectors.Files;
using StreamMl.Engine;

namespace StreamMl.Benchmarks.Files;

/// <summary>The file source alone reading the credit file ×10 (300,000 rows × 25 columns, 28.6 MB) into 4,096-row
/// batches, with the CSV parsed on the source's thread (<c>CsvParseThreads = 1</c>) or by 2 and 3 worker threads.
/// One operation = the whole file. Chooses <see cref="FileSourceOptions.CsvParseThreads"/>'s default.</summary>
[MemoryDiagnoser]
public class ParallelCsvBenchmarks
{
    private string _input = "";
    private Schema _schema = null!;
    private ColumnBatch _batch = null!;

    /// <summary>Parse threads (1 = the source's own thread, no workers).</summary>
    [Params(1, 2, 3)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _input = CreditTenfold.Write("streamml-bench-parallel-csv");
        var options = new FileSourceOptions();
        options.Paths.Add(_input);
        _schema = FileSource.Create(options).Schema;
        _batch = new ColumnBatch(_schema);
    }

    [GlobalCleanup]
    public void Cleanup() => _batch.Dispose();

    /// <summary>Reads the whole file; returns the rows.</summary>
    [Benchmark]
    public async Task<long> ReadFile()
    {
        var options = new FileSourceOptions { Schema = _schema, CsvParseThreads = Threads };
        options.Paths.Add(_input);
        await using var source = FileSource.Create(options);
        await source.OpenAsync(new SourceContext("bench", new CollectingDeadLetterSink()), CancellationToken.None);
        long rows = 0;
        bool more;
        do
        {
            _batch.Reset();
            more = await source.FillAsync(_batch, CancellationToken.None);
            rows += _batch.Length;
        }
        while (more);
        return rows;
    }
}

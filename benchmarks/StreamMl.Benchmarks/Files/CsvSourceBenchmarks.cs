using System.Globalization;
using BenchmarkDotNet.Attributes;
using nietras.SeparatedValues;
using StreamMl.Connectors.Files;
using StreamMl.Engine;

namespace StreamMl.Benchmarks.Files;

/// <summary>Where the CSV source's time goes on S6's input, the credit file ×10 (300,000 rows × 25 integer columns,
/// 28.6 MB), one operation = the whole file on one thread, against peers measured in the same run:
/// Sep's plain enumeration touching every field (the splitting floor), Sep with <c>long.Parse</c> of every field (<c>double.Parse</c> for the amounts written as 2e+05) (what
/// a hand-written Sep loop costs), the UTF-8 decoding alone, and <see cref="FileSource"/> filling 4,096-row batches with
/// the schema given (<c>CsvParseThreads = 1</c>, S6's default on 2 cores), from the bytes (the default) and with the Sep
/// reader it used before.</summary>
[MemoryDiagnoser]
[Config(typeof(FileIngestBenchmarks.TableConfig))]
public class CsvSourceBenchmarks
{
    private string _input = "";
    private Schema _schema = null!;
    private ColumnBatch _batch = null!;
    private readonly char[] _chars = new char[1 << 16];

    [GlobalSetup]
    public void Setup()
    {
        _input = CreditTenfold.Write("streamml-bench-csv-source");
        var options = new FileSourceOptions();
        options.Paths.Add(_input);
        _schema = FileSource.Create(options).Schema;
        _batch = new ColumnBatch(_schema);
    }

    [GlobalCleanup]
    public void Cleanup() => _batch.Dispose();

    /// <summary>The peer: Sep's enumeration, every field parsed with <c>long.Parse</c> (or <c>double.Parse</c>) and summed.</summary>
    [Benchmark(Baseline = true)]
    public long SepLongParse()
    {
        using var reader = Sep.Reader(o => o with { CultureInfo = CultureInfo.InvariantCulture }).FromFile(_input);
        var columns = reader.Header.ColNames.Count;
        long sum = 0;
        foreach (var row in reader)
            for (var c = 0; c < columns; c++)
            {
                // The credit file writes some amounts as R does (2e+05): those take double.Parse.
                var span = row[c].Span;
                sum += long.TryParse(span, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value
                    : (long)double.Parse(span, NumberStyles.Float, CultureInfo.InvariantCulture);
            }
        return sum;
    }

    /// <summary>The splitting floor: Sep's enumeration touching every field's length.</summary>
    [Benchmark]
    public long SepSplitOnly()
    {
        using var reader = Sep.Reader(o => o with { CultureInfo = CultureInfo.InvariantCulture }).FromFile(_input);
        var columns = reader.Header.ColNames.Count;
        long sum = 0;
        foreach (var row in reader)
            for (var c = 0; c < columns; c++)
                sum += row[c].Span.Length;
        return sum;
    }

    /// <summary>Reading the file and decoding its UTF-8 into UTF-16, as the source's StreamReader does before Sep.</summary>
    [Benchmark]
    public long DecodeOnly()
    {
        using var text = new StreamReader(_input, new System.Text.UTF8Encoding(false, false), true, 1 << 16);
        long total = 0;
        int read;
        while ((read = text.Read(_chars)) > 0) total += read;
        return total;
    }

    /// <summary>The file source reading the whole file into 4,096-row batches on its own thread, from the file's bytes
    /// (the default).</summary>
    [Benchmark]
    public Task<long> SourceFill() => Fill(fromBytes: true);

    /// <summary>The same with the Sep reader the source used before (<c>CsvFromBytes = false</c>).</summary>
    [Benchmark]
    public Task<long> SourceFillSep() => Fill(fromBytes: false);

    private async Task<long> Fill(bool fromBytes)
    {
        var options = new FileSourceOptions { Schema = _schema, CsvParseThreads = 1, CsvFromBytes = fromBytes };
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

/// <summary>The source's and the peers' thread CPU time per file, interleaved sample by sample (the shared two-core
/// machine's wall clock mostly measures preemption), and a loop to attach <c>perf</c> to:
/// <c>dotnet benchmarks/StreamMl.Benchmarks/bin/Release/net10.0/StreamMl.Benchmarks.dll csv-source-cpu [samples]</c>.</summary>
internal static class CsvSourceCpuProbe
{
    public static int Run(string[] args, TextWriter output)
    {
        var samples = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 7;
        var bench = new CsvSourceBenchmarks();
        bench.Setup();
        (string Name, Func<long> Op)[] variants =
        [
            ("SepLongParse", bench.SepLongParse), ("SepSplitOnly", bench.SepSplitOnly), ("DecodeOnly", bench.DecodeOnly),
            ("SourceFill", () => bench.SourceFill().GetAwaiter().GetResult()),
            ("SourceFillSep", () => bench.SourceFillSep().GetAwaiter().GetResult()),
        ];
        var times = variants.Select(_ => new List<double>()).ToArray();
        for (var sample = -2; sample < samples; sample++)
            for (var v = 0; v < variants.Length; v++)
            {
                var start = ThreadCpuMicros();
                variants[v].Op();
                if (sample >= 0) times[v].Add(ThreadCpuMicros() - start);
            }
        output.WriteLine("variant | median thread CPU ms per file | ns per row | vs SepLongParse");
        var medians = times.Select(t => t.Order().ElementAt(t.Count / 2)).ToArray();
        for (var v = 0; v < variants.Length; v++)
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{variants[v].Name} | {medians[v] / 1000:F1} | {medians[v] * 1000 / 300_000:F0} | {medians[v] / medians[0]:F2}"));
        bench.Cleanup();
        return 0;
    }

    private static double ThreadCpuMicros()
    {
        _ = ClockGetTime(3, out var spec); // CLOCK_THREAD_CPUTIME_ID
        return spec.Seconds * 1e6 + spec.Nanoseconds / 1e3;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec spec);

    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}

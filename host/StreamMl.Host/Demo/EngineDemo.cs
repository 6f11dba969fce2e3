using System.Diagnostics;
using StreamMl.Connectors.Memory;
using StreamMl.Connectors.Synthetic;
using StreamMl.Engine;

namespace StreamMl.Host.Demo;

/// <summary>The engine part of <c>streamml demo</c>: a generated sensor stream through the ring into an in-memory
/// sink, reporting rows/s.</summary>
internal static class EngineDemo
{
    public static async Task<int> RunAsync(long rows, TextWriter output, CancellationToken cancellationToken)
    {
        var source = new SensorSource(new SensorSourceOptions { TotalRows = rows, Features = 8 });
        var sink = new CountingSink("memory", sumColumn: "f0");
        await using var pipeline = Pipeline.From(source, new PipelineOptions { Name = "demo" }).To(sink).Build();
        var clock = Stopwatch.StartNew();
        await pipeline.RunAsync(cancellationToken);
        clock.Stop();
        var rate = sink.Rows / clock.Elapsed.TotalSeconds;
        output.WriteLine($"demo: {sink.Rows:N0} sensor rows ({source.Schema.Count} columns) through the ring in {clock.Elapsed.TotalMilliseconds:F0} ms: {rate:N0} rows/s");
        output.WriteLine($"demo: mean f0 = {sink.Sum / Math.Max(1, sink.Rows):F3}; committed up to row {source.CommittedOffset:N0}");
        foreach (var stage in pipeline.Stages) output.WriteLine($"  {stage}");
        return sink.Rows == rows ? 0 : 1;
    }
}

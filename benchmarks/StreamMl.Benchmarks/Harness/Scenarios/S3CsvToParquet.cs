using System.Diagnostics;
using HdrHistogram;
using Parquet.Serialization;
using StreamMl.Connectors.Files;
using StreamMl.Connectors.Parquet;
using StreamMl.Engine;
using StreamMl.Operators.Scoring;

namespace StreamMl.Benchmarks.Harness.Scenarios;

/// <summary>S3: a CSV file → validate → features → score → Parquet. StreamMl: Sep-based file source, feature pipeline,
/// ONNX scorer and column-wise Parquet sink in one pipeline. The peer: CsvHelper row objects, an ML.NET
/// PredictionEngine (same transforms, same FastTree), and Parquet.Net's serializer, written the usual way.</summary>
public sealed class S3CsvToParquet : IScenario
{
    /// <inheritdoc/>
    public string Id => "S3";

    /// <inheritdoc/>
    public string Title => "CSV (credit default ×10) → validate → features → FastTree score → Parquet";

    /// <inheritdoc/>
    public void Prepare(ScenarioSize size) => _ = CreditWorkload.For(size);

    /// <inheritdoc/>
    public IReadOnlyList<IScenarioVariant> Variants =>
    [
        new Variant("StreamMl pipeline", true, StreamMlAsync),
        new Variant("CsvHelper + PredictionEngine + Parquet.Net serializer", false, RowObjectsAsync),
    ];

    private sealed class Variant(string name, bool isStreamMl, Func<CreditWorkload, string, string, LongHistogram, Task<long>> run) : IScenarioVariant
    {
        public string Name => name;
        public bool IsStreamMl => isStreamMl;

        public async Task<(long Rows, long Bytes)> RunAsync(ScenarioSize size, LongHistogram latency, CancellationToken cancellationToken)
        {
            var workload = CreditWorkload.For(size);
            var csv = size == ScenarioSize.Smoke ? workload.SmallCsv : workload.LargeCsv;
            var output = Path.Combine(workload.Directory, $"out-{Guid.NewGuid():N}");
            Directory.CreateDirectory(output);
            try
            {
                var rows = await run(workload, csv, output, latency).ConfigureAwait(false);
                return (rows, new FileInfo(csv).Length);
            }
            finally
            {
                Directory.Delete(output, recursive: true);
            }
        }
    }

    /// <summary>The rule both sides apply: an age outside 18..100 or a negative credit limit is rejected.</summary>
    public static bool IsValid(double age, double limit) => age is >= 18 and <= 100 && limit >= 0;

    private static async Task<long> StreamMlAsync(CreditWorkload workload, string csv, string output, LongHistogram latency)
    {
        var features = workload.Features.Clone();
        using var model = OnnxModel.FromBytes(workload.OnnxBytes, "fasttree");
        using var scorer = new ScoringOperator(model, new ScoringOptions
        {
            FeatureColumns = features.OutputColumns,
            OutputColumns = new Dictionary<string, string> { ["Probability.output"] = "probability" },
        });
        var source = FileSource.Create(new FileSourceOptions { Paths = { csv } });
        var sink = new ParquetSink(new ParquetSinkOptions { Directory = output, Columns = { "ID", "probability" } });
        var clock = Stopwatch.GetTimestamp();
        await using var pipeline = Pipeline.From(source, new PipelineOptions { Name = "s3" })
            .Then(new CreditRangeCheck()).Then(features).Then(scorer).To(sink).Build();
        await pipeline.RunAsync().ConfigureAwait(false);
        latency.RecordValue(Math.Max(1, Stopwatch.GetTimestamp() - clock));
        return sink.RowsWritten + pipeline.DeadLetters.Count;
    }

    private sealed class CreditRangeCheck : IBatchOperator
    {
        private int _age, _limit;

        public string Name => "validate";

        public Schema Bind(Schema input)
        {
            _age = input.Require("AGE");
            _limit = input.Require("LIMIT_BAL");
            return input;
        }

        public void Process(ColumnBatch batch, StageContext context)
        {
            for (var row = 0; row < batch.Length; row++)
            {
                var age = WorkloadTraining.Number(batch[_age], row);
                var limit = WorkloadTraining.Number(batch[_limit], row);
                if (!IsValid(age, limit)) context.Reject(batch, row, "range", $"AGE {age} or LIMIT_BAL {limit} out of range");
            }
        }

    }

    private static async Task<long> RowObjectsAsync(CreditWorkload workload, string csv, string output, LongHistogram latency)
    {
        var engine = workload.MlContext.Model.CreatePredictionEngine<CreditRow, CreditPrediction>(workload.MlNetModel);
        var clock = Stopwatch.GetTimestamp();
        var chunk = new List<ScoredCredit>(65_536);
        long rows = 0;
        var part = 0;
        foreach (var row in CreditWorkload.CsvRows(csv))
        {
            rows++;
            if (!IsValid(row.AGE, row.LIMIT_BAL)) continue;
            chunk.Add(new ScoredCredit { ID = row.ID, Probability = engine.Predict(row).Probability });
            if (chunk.Count == chunk.Capacity)
            {
                await ParquetSerializer.SerializeAsync(chunk, Path.Combine(output, $"part-{part++}.parquet")).ConfigureAwait(false);
                chunk.Clear();
            }
        }
        if (chunk.Count > 0) await ParquetSerializer.SerializeAsync(chunk, Path.Combine(output, $"part-{part}.parquet")).ConfigureAwait(false);
        latency.RecordValue(Math.Max(1, Stopwatch.GetTimestamp() - clock));
        return rows;
    }
}

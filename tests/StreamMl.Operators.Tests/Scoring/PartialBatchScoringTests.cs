using StreamMl.Engine;
using StreamMl.Operators.Scoring;
using StreamMl.Operators.Scoring.Internal;

namespace StreamMl.Operators.Tests.Scoring;

/// <summary>Kafka and MQTT sources hand the scorer partial batches of any length from 1 to the capacity. A repeating
/// sequence of varied lengths must score exactly as ONNX Runtime's own Run on the same rows (the padding rows the
/// scorer may add are never visible) and, once every length has been seen, allocate nothing per batch.</summary>
[Collection(CreditModelsCollection.Name)]
public sealed class PartialBatchScoringTests(CreditModels credit)
{
    private const int Capacity = 4096;

    // Lengths a Kafka source delivers when the topic trickles and then bursts; 4095 and 4096 straddle the capacity,
    // 3, 5, 6, 9, 100 and 513 fall between power-of-two sizes.
    private static readonly int[] s_lengths = [1, 7, 100, 4095, 4096, 13, 2, 513, 64, 3000, 3, 5, 6, 9, 1500];

    private List<(ColumnBatch Batch, int Start)> PartialBatches(Schema schema)
    {
        var all = credit.Raw.SelectMany(b => Enumerable.Range(0, b.Length).Select(r => (b, r))).ToArray();
        var batches = new List<(ColumnBatch, int)>();
        var start = 0;
        foreach (var n in s_lengths)
        {
            if (start + n > all.Length) start = 0;
            var batch = new ColumnBatch(schema, Capacity);
            for (var i = 0; i < n; i++)
            {
                var (source, row) = all[start + i];
                for (var c = 0; c < source.Schema.Count; c++) batch[schema.Require(source.Schema[c].Name)].CopyRow(source[c], row, i);
            }
            batch.Length = n;
            batches.Add((batch, start));
            start += n;
        }
        return batches;
    }

    [Theory]
    [InlineData("lr")]
    [InlineData("fasttree")]
    [InlineData("lightgbm")]
    public void Varied_partial_batches_score_like_OnnxRuntime_Run_and_allocate_nothing_per_batch(string name)
    {
        using var model = credit.Load(name);
        using var scorer = new ScoringOperator(model, new ScoringOptions { FeatureColumns = credit.Features.OutputColumns });
        var schema = scorer.Bind(credit.ServingSchema);
        var batches = PartialBatches(schema);
        try
        {
            void Once() { foreach (var (b, _) in batches) { credit.Features.Transform(b); scorer.Score(b); } }

            // The first round meets every length once; later rounds must find everything they need.
            Once();
            foreach (var (b, start) in batches)
            {
                var expected = credit.ReferenceRun(name, start, b.Length);
                Assert.Equal(expected.Score, b.Values<float>(schema.Require("score")).ToArray());
                Assert.Equal(expected.Probability, b.Values<float>(schema.Require("probability")).ToArray());
                Assert.Equal(expected.Label, b.Values<byte>(schema.Require("predicted_label")).ToArray().Select(x => x != 0).ToArray());
            }

            const int rounds = 5;
            var allocated = SteadyState.AllocatedBytes(Once, rounds);
            Assert.True(allocated == 0,
                $"{allocated} B allocated over {rounds * batches.Count} partial batches ({allocated / (rounds * batches.Count)} B per batch); expected 0");
        }
        finally { Features.FeatureTestData.DisposeAll(batches.Select(b => b.Batch).ToList()); }
    }

    [Theory]
    [InlineData(4096)]
    [InlineData(1000)]
    [InlineData(7)]
    [InlineData(1)]
    public void Every_length_is_scored_in_one_of_few_sizes_with_at_most_a_third_of_padding(int capacity)
    {
        var sizes = new HashSet<int>();
        for (var rows = 1; rows <= capacity; rows++)
        {
            var size = ModelRunner.BucketRows(rows, capacity);
            Assert.InRange(size, rows, capacity);
            Assert.True(size - rows <= Math.Max(1, size / 3), $"{rows} rows scored as {size}");
            sizes.Add(size);
        }
        Assert.Equal(capacity, ModelRunner.BucketRows(capacity, capacity));
        Assert.InRange(sizes.Count, 1, 2 * (int)Math.Ceiling(Math.Log2(capacity)) + 1);
    }
}

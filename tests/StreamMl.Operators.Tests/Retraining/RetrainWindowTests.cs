using StreamMl.Engine;
using StreamMl.Operators.Retraining;
using StreamMl.Testing;

namespace StreamMl.Operators.Tests.Retraining;

/// <summary>The window keeps exactly the newest selected, labelled rows (compared with a plain list), converts any numeric
/// column, and feeding it allocates nothing per batch.</summary>
public sealed class RetrainWindowTests
{
    private static readonly Schema s_schema = new(
        new Field("a", ColumnType.Float32, Nullable: true), new Field("b", ColumnType.Int64), new Field("c", ColumnType.Float64),
        new Field("label", ColumnType.Bool, Nullable: true), new Field("score", ColumnType.Float32));

    [Fact]
    public void The_window_holds_the_newest_selected_labelled_rows_in_order_as_a_plain_list_does()
    {
        var window = new RetrainWindow(["a", "b", "c"], capacity: 700);
        var op = new RetrainWindowOperator(window, "label", "score");
        op.Bind(s_schema);
        var reference = new List<(float A, float B, float C, float Label, float Score)>();
        var random = new Random(9);
        using var batch = new ColumnBatch(s_schema, 256);
        for (var b = 0; b < 9; b++)
        {
            batch.Reset();
            batch.Length = 100 + b * 17;
            for (var r = 0; r < batch.Length; r++)
            {
                var a = random.NextSingle();
                batch["a"].Values<float>()[r] = a;
                var aNull = random.NextDouble() < 0.1;
                if (aNull) batch["a"].SetNull(r); else batch["a"].SetValid(r);
                batch["b"].Values<long>()[r] = random.Next(1000);
                batch["c"].Values<double>()[r] = random.NextDouble() * 10;
                var label = random.NextDouble() < 0.5;
                batch["label"].Values<byte>()[r] = label ? (byte)1 : (byte)0;
                var labelled = random.NextDouble() < 0.8;
                if (labelled) batch["label"].SetValid(r); else batch["label"].SetNull(r);
                batch["score"].Values<float>()[r] = random.NextSingle();
                var selected = random.NextDouble() < 0.9;
                if (!selected) batch.Selection.Deselect(r);
                if (selected && labelled)
                    reference.Add((aNull ? float.NaN : a, batch["b"].Values<long>()[r], (float)batch["c"].Values<double>()[r], label ? 1 : 0, batch["score"].Values<float>()[r]));
            }
            op.Process(batch, StageContext.Standalone("w"));
        }
        var expected = reference.TakeLast(700).ToArray();
        var (rows, first, last) = window.Snapshot();
        Assert.Equal(reference.Count, last);
        Assert.Equal(reference.Count - 699, first);
        Assert.Equal(expected.Length, rows.Rows);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal([expected[i].A, expected[i].B, expected[i].C], rows.Row(i).ToArray());
            Assert.Equal(expected[i].Label, rows.Labels[i]);
        }
        var recent = window.RecentScores(50)!.Value;
        Assert.Equal(expected.TakeLast(50).Reverse().Select(e => e.Score), recent.Scores);
        Assert.Equal(expected.TakeLast(50).Reverse().Select(e => e.Label), recent.Labels);

        window.RestartMetric();
        Assert.Null(window.RecentScores(1));
    }

    [Fact]
    public void A_text_label_column_is_refused_naming_it()
    {
        var window = new RetrainWindow(["a"], 10);
        var error = Assert.Throws<RetrainException>(() => new RetrainWindowOperator(window, "label").Bind(new Schema(new Field("a", ColumnType.Float32), new Field("label", ColumnType.String))));
        Assert.Contains("retrain label column 'label' is string", error.Message);
    }

    [Fact]
    public void Feeding_the_window_allocates_nothing_per_batch()
    {
        var window = new RetrainWindow(["a", "b", "c"], capacity: 5000);
        var op = new RetrainWindowOperator(window, "label", "score");
        op.Bind(s_schema);
        using var batch = new ColumnBatch(s_schema, 1000);
        batch.Length = 1000;
        for (var r = 0; r < 1000; r++) { batch["a"].SetValid(r); batch["label"].SetValid(r); }
        var context = StageContext.Standalone("w");
        op.Process(batch, context);
        Assert.Equal(0, SteadyState.AllocatedBytes(() => op.Process(batch, context), iterations: 20));
    }
}

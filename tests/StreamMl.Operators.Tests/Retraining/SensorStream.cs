using StreamMl.Engine;
using StreamMl.Operators.Learners;

namespace StreamMl.Operators.Tests.Retraining;

/// <summary>Generated machine sensors: temperature, vibration and pressure uniform on [0, 1); a machine fails with
/// probability sigmoid(6·(temperature + vibration − 1)) before the concept drift and sigmoid(6·(pressure + vibration − 1))
/// after it (a new part: temperature no longer matters, pressure does). The inputs' distributions never change; only
/// the concept does, so only the labels can show it.</summary>
internal static class SensorStream
{
    public static readonly string[] Features = ["temperature", "vibration", "pressure"];

    public static readonly Schema Schema = new(
        new Field("id", ColumnType.Int64), new Field("temperature", ColumnType.Float32), new Field("vibration", ColumnType.Float32),
        new Field("pressure", ColumnType.Float32), new Field("failure", ColumnType.Float32));

    private static float Failure(Random random, float temperature, float vibration, float pressure, bool drifted)
    {
        var driver = drifted ? pressure : temperature;
        return random.NextDouble() < 1 / (1 + Math.Exp(-6 * (driver + vibration - 1))) ? 1 : 0;
    }

    /// <summary>Fills the batch with rows starting at <paramref name="firstId"/>.</summary>
    public static void Fill(ColumnBatch batch, Random random, long firstId, bool drifted)
    {
        batch.Reset();
        batch.Length = batch.Capacity;
        var id = batch["id"].Values<long>();
        Span<float> t = batch["temperature"].Values<float>(), v = batch["vibration"].Values<float>(), p = batch["pressure"].Values<float>(),
            y = batch["failure"].Values<float>();
        for (var r = 0; r < batch.Length; r++)
        {
            id[r] = firstId + r;
            t[r] = random.NextSingle();
            v[r] = random.NextSingle();
            p[r] = random.NextSingle();
            y[r] = Failure(random, t[r], v[r], p[r], drifted);
        }
    }

    /// <summary><paramref name="rows"/> rows as a training set.</summary>
    public static TrainingSet Rows(int rows, int seed, bool drifted)
    {
        var random = new Random(seed);
        var x = new float[rows * 3];
        var y = new float[rows];
        for (var i = 0; i < rows; i++)
        {
            float t = random.NextSingle(), v = random.NextSingle(), p = random.NextSingle();
            (x[i * 3], x[i * 3 + 1], x[i * 3 + 2]) = (t, v, p);
            y[i] = Failure(random, t, v, p, drifted);
        }
        return new TrainingSet(x, 3, y, Features);
    }

    /// <summary>The model as ONNX bytes.</summary>
    public static byte[] Onnx(IFittedModel model)
    {
        using var stream = new MemoryStream();
        model.ExportOnnx(stream);
        return stream.ToArray();
    }
}

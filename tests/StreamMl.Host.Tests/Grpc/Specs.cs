using StreamMl.Host.Protos;

namespace StreamMl.Host.Tests.Grpc;

/// <summary>Spec texts and reference computations shared by the gRPC tests.</summary>
internal static class TestSpecs
{
    public static readonly Dictionary<string, double> Weights = new() { ["temperature"] = 0.08, ["vibration"] = 1.7, ["pressure"] = -0.02 };
    public const double Bias = -5.5;

    public static readonly Dictionary<string, double> OtherWeights = new() { ["temperature"] = -0.03, ["vibration"] = 0.9, ["pressure"] = 0.01 };
    public const double OtherBias = 0.5;

    /// <summary>A pipeline fed by Ingest, scored by an inline linear model named <paramref name="model"/>, watching drift.</summary>
    public static string Sensors(string name, string model = "linear-a", bool other = false, int referenceRows = 400, int windowRows = 200,
        bool validation = false) => $$"""
        name: {{name}}
        options: { batch_capacity: 256, ring_size: 4 }
        source:
          kind: grpc
          columns: { device: string, temperature: float32, vibration: float32, pressure: float32, fault: bool }
          required: [temperature]
        {{(validation ? "validation:\n  - { rule: range, column: vibration, min: 0, max: 20 }\n  - { rule: allowed, column: device, values: [d1, d2, d3] }" : "")}}
        model:
          kind: linear
          name: {{model}}
          version: "1"
          key: device
          label: fault
          weights: { {{string.Join(", ", (other ? OtherWeights : Weights).Select(p => $"{p.Key}: {p.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)}"))}} }
          bias: {{(other ? OtherBias : Bias).ToString(System.Globalization.CultureInfo.InvariantCulture)}}
        drift:
          features: [temperature, vibration]
          reference_rows: {{referenceRows}}
          window_rows: {{windowRows}}
        sinks:
          - kind: memory
            keep_rows: 3
        """;

    /// <summary>The logistic score computed here in double precision, independently of the host's float scorer.</summary>
    public static double Reference(double temperature, double vibration, double pressure, bool other = false)
    {
        var w = other ? OtherWeights : Weights;
        var z = (other ? OtherBias : Bias) + w["temperature"] * temperature + w["vibration"] * vibration + w["pressure"] * pressure;
        return 1 / (1 + Math.Exp(-z));
    }

    /// <summary>The host scores in float32: agree with the double reference to float precision.</summary>
    public static void AssertClose(double expected, double actual, double tolerance = 2e-5) =>
        Assert.True(Math.Abs(expected - actual) <= tolerance, $"expected {expected} but got {actual}");

    public sealed record Reading(string Device, float Temperature, float Vibration, float Pressure, bool Fault);

    public static List<Reading> Readings(int count, int seed, float temperatureShift = 0)
    {
        var random = new Random(seed);
        var list = new List<Reading>(count);
        for (var i = 0; i < count; i++)
        {
            var faulty = random.NextDouble() < 0.2;
            list.Add(new Reading($"d{random.Next(50)}",
                (float)(60 + random.NextDouble() * 10 + (faulty ? 12 : 0) + temperatureShift),
                (float)(0.8 + random.NextDouble() * 0.5 + (faulty ? 1 : 0)),
                (float)(95 + random.NextDouble() * 10),
                faulty));
        }
        return list;
    }

    public static RowSet ToRowSet(IEnumerable<Reading> readings)
    {
        var set = new RowSet { Columns = { "device", "temperature", "vibration", "pressure", "fault" } };
        foreach (var r in readings)
            set.Rows.Add(new Row
            {
                Values =
                {
                    new Value { Text = r.Device }, new Value { Number = r.Temperature }, new Value { Number = r.Vibration },
                    new Value { Number = r.Pressure }, new Value { Flag = r.Fault },
                },
            });
        return set;
    }

    public static byte[] ToArrow(IReadOnlyList<Reading> readings)
    {
        var batch = new Apache.Arrow.RecordBatch.Builder()
            .Append("device", false, new Apache.Arrow.StringArray.Builder().AppendRange(readings.Select(r => r.Device)).Build())
            .Append("temperature", false, new Apache.Arrow.FloatArray.Builder().AppendRange(readings.Select(r => r.Temperature)).Build())
            .Append("vibration", false, new Apache.Arrow.FloatArray.Builder().AppendRange(readings.Select(r => r.Vibration)).Build())
            .Append("pressure", false, new Apache.Arrow.FloatArray.Builder().AppendRange(readings.Select(r => r.Pressure)).Build())
            .Append("fault", false, new Apache.Arrow.BooleanArray.Builder().AppendRange(readings.Select(r => r.Fault)).Build())
            .Build();
        using var stream = new MemoryStream();
        using (var writer = new Apache.Arrow.Ipc.ArrowStreamWriter(stream, batch.Schema, leaveOpen: true))
        {
            writer.WriteRecordBatch(batch);
            writer.WriteEnd();
        }
        return stream.ToArray();
    }
}

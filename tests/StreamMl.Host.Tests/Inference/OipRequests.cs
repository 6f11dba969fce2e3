using System.Runtime.InteropServices;
using System.Text;
using Google.Protobuf;
using StreamMl.Host.Grpc.Inference.Protocol;
using StreamMl.Host.Tests.Grpc;

namespace StreamMl.Host.Tests.Inference;

/// <summary>Open Inference Protocol requests for the sensors pipeline of <see cref="TestSpecs.Sensors"/>, built from
/// the protocol's messages only.</summary>
internal static class OipRequests
{
    public static GRPCInferenceService.GRPCInferenceServiceClient Client(HostFixture host, string? key = HostFixture.ScoreKey) => new(host.Channel(key));

    /// <summary>One tensor per column, typed contents (or raw_input_contents when <paramref name="raw"/>).</summary>
    public static ModelInferRequest Infer(string model, IReadOnlyList<TestSpecs.Reading> readings, bool raw = false, string version = "")
    {
        var request = new ModelInferRequest { ModelName = model, ModelVersion = version, Id = "oip-1" };
        var n = readings.Count;
        var device = Tensor("device", "BYTES", n);
        var temperature = Tensor("temperature", "FP32", n);
        var vibration = Tensor("vibration", "FP32", n);
        var pressure = Tensor("pressure", "FP32", n);
        request.Inputs.Add(new[] { device, temperature, vibration, pressure });
        if (raw)
        {
            request.RawInputContents.Add(RawStrings(readings.Select(r => r.Device)));
            request.RawInputContents.Add(RawFloats(readings.Select(r => r.Temperature)));
            request.RawInputContents.Add(RawFloats(readings.Select(r => r.Vibration)));
            request.RawInputContents.Add(RawFloats(readings.Select(r => r.Pressure)));
            return request;
        }
        device.Contents = new InferTensorContents { BytesContents = { readings.Select(r => ByteString.CopyFromUtf8(r.Device)) } };
        temperature.Contents = new InferTensorContents { Fp32Contents = { readings.Select(r => r.Temperature) } };
        vibration.Contents = new InferTensorContents { Fp32Contents = { readings.Select(r => r.Vibration) } };
        pressure.Contents = new InferTensorContents { Fp32Contents = { readings.Select(r => r.Pressure) } };
        return request;
    }

    public static ModelInferRequest.Types.InferInputTensor Tensor(string name, string datatype, params long[] shape) =>
        new() { Name = name, Datatype = datatype, Shape = { shape } };

    /// <summary>The elements of output <paramref name="name"/>, typed or raw (the protocol's little-endian layout).</summary>
    public static float[] Scores(ModelInferResponse response) => Floats(response, "score");

    public static float[] Floats(ModelInferResponse response, string name)
    {
        var index = response.Outputs.ToList().FindIndex(o => o.Name == name);
        Assert.True(index >= 0, $"no {name} output");
        Assert.Equal("FP32", response.Outputs[index].Datatype);
        return response.RawOutputContents.Count > 0
            ? MemoryMarshal.Cast<byte, float>(response.RawOutputContents[index].Span).ToArray()
            : [.. response.Outputs[index].Contents.Fp32Contents];
    }

    public static string[] Strings(ModelInferResponse response, string name)
    {
        var index = response.Outputs.ToList().FindIndex(o => o.Name == name);
        Assert.True(index >= 0, $"no {name} output");
        if (response.RawOutputContents.Count == 0) return [.. response.Outputs[index].Contents.BytesContents.Select(b => b.ToStringUtf8())];
        var span = response.RawOutputContents[index].Span;
        var list = new List<string>();
        while (span.Length > 0)
        {
            var length = BitConverter.ToInt32(span);
            list.Add(Encoding.UTF8.GetString(span.Slice(4, length)));
            span = span[(4 + length)..];
        }
        return [.. list];
    }

    private static ByteString RawFloats(IEnumerable<float> values) => ByteString.CopyFrom(MemoryMarshal.AsBytes(values.ToArray().AsSpan()));

    private static ByteString RawStrings(IEnumerable<string> values)
    {
        var bytes = new List<byte>();
        foreach (var value in values)
        {
            var utf8 = Encoding.UTF8.GetBytes(value);
            bytes.AddRange(BitConverter.GetBytes(utf8.Length));
            bytes.AddRange(utf8);
        }
        return ByteString.CopyFrom([.. bytes]);
    }
}

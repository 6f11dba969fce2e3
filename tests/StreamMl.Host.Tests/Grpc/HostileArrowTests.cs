using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;
using Google.Protobuf;
using Grpc.Core;
using StreamMl.Host.Protos;

namespace StreamMl.Host.Tests.Grpc;

/// <summary>Hostile Arrow IPC payloads sent through a real gRPC client: each is answered with INVALID_ARGUMENT in the
/// user's words (no .NET type name), and the host keeps serving.</summary>
[Collection(HostCollection.Name)]
public sealed class HostileArrowTests(HostFixture host)
{
    private const string Pipeline = "hostile-arrow";

    private async Task EnsurePipelineAsync()
    {
        if (!host.Pipelines.TryGet(Pipeline, out _))
            await host.Control().CreatePipelineAsync(new CreatePipelineRequest { Spec = TestSpecs.Sensors(Pipeline), Replace = true });
    }

    private async Task<RpcException?> ScoreAsync(byte[] arrow)
    {
        await EnsurePipelineAsync();
        try
        {
            await host.DataPlane().ScoreAsync(new ScoreRequest { Pipeline = Pipeline, ArrowIpc = ByteString.CopyFrom(arrow) });
            return null;
        }
        catch (RpcException ex)
        {
            return ex;
        }
    }

    private async Task AssertStillServesAsync()
    {
        var ok = await host.DataPlane().ScoreAsync(new ScoreRequest { Pipeline = Pipeline, Rows = TestSpecs.ToRowSet(TestSpecs.Readings(1, 1)) });
        Assert.False(ok.Scores[0].Rejected);
    }

    private static void AssertUserWords(RpcException ex, string what)
    {
        Assert.True(ex.StatusCode == StatusCode.InvalidArgument, $"{what}: {ex.StatusCode} {ex.Status.Detail}");
        Assert.DoesNotContain("System.", ex.Status.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", ex.Status.Detail, StringComparison.Ordinal);
    }

    private static byte[] Write(RecordBatch batch)
    {
        using var stream = new MemoryStream();
        using (var writer = new ArrowStreamWriter(stream, batch.Schema, leaveOpen: true))
        {
            writer.WriteRecordBatch(batch);
            writer.WriteEnd();
        }
        return stream.ToArray();
    }

    [Fact]
    public async Task A_string_column_whose_offsets_point_outside_its_data_is_refused_and_the_host_stays_up()
    {
        // Three strings whose last offset points 256 MiB past an 8-byte data buffer, as a damaged message can say.
        var offsets = new ArrowBuffer.Builder<int>().AppendRange([0, 2, 4, 1 << 28]).Build();
        var data = new ArrowBuffer.Builder<byte>().AppendRange("d1d2d3xx"u8.ToArray()).Build();
        var device = new StringArray(3, offsets, data, ArrowBuffer.Empty);
        var bytes = Write(new RecordBatch.Builder()
            .Append("device", false, device)
            .Append("temperature", false, new FloatArray.Builder().AppendRange([60, 61, 62]).Build()).Build());
        var ex = await ScoreAsync(bytes);
        Assert.NotNull(ex);
        AssertUserWords(ex, "offsets");
        Assert.Contains("column 'device': the Arrow array is damaged", ex.Status.Detail, StringComparison.Ordinal);
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task A_schema_nested_a_hundred_thousand_levels_deep_is_refused_without_a_stack_overflow()
    {
        byte[] bytes = [];
        // Writing it needs a deep stack too; the host must not.
        var thread = new Thread(() =>
        {
            IArrowType type = Int32Type.Default;
            for (var i = 0; i < 100_000; i++) type = new StructType([new Apache.Arrow.Field("f", type, true)]);
            var schema = new Apache.Arrow.Schema([new Apache.Arrow.Field("temperature", type, true)], null);
            using var stream = new MemoryStream();
            using (var writer = new ArrowStreamWriter(stream, schema, leaveOpen: true))
            {
                writer.WriteStart();
                writer.WriteEnd();
            }
            bytes = stream.ToArray();
        }, 1 << 30);
        thread.Start();
        thread.Join();
        var ex = await ScoreAsync(bytes);
        Assert.NotNull(ex);
        AssertUserWords(ex, "nested");
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task Every_truncation_of_a_stream_is_refused_in_the_users_words()
    {
        var bytes = TestSpecs.ToArrow(TestSpecs.Readings(5, 3));
        var failures = new List<string>();
        for (var length = 0; length < bytes.Length; length++)
        {
            var ex = await ScoreAsync(bytes[..length]);
            if (ex is null) continue; // a cut right after a message can be a valid shorter stream
            if (ex.StatusCode != StatusCode.InvalidArgument || ex.Status.Detail.Contains("Exception", StringComparison.Ordinal))
                failures.Add($"{length}: {ex.StatusCode} {ex.Status.Detail}");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(20)));
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task Flipped_bytes_are_refused_in_the_users_words()
    {
        var bytes = TestSpecs.ToArrow(TestSpecs.Readings(5, 3));
        var random = new Random(12);
        var failures = new List<string>();
        for (var trial = 0; trial < 400; trial++)
        {
            var copy = (byte[])bytes.Clone();
            var at = random.Next(copy.Length);
            copy[at] = (byte)random.Next(256);
            var ex = await ScoreAsync(copy);
            if (ex is null) continue;
            if (ex.StatusCode != StatusCode.InvalidArgument || ex.Status.Detail.Contains("Exception", StringComparison.Ordinal))
                failures.Add($"byte {at}: {ex.StatusCode} {ex.Status.Detail}");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(20)));
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task Every_truncation_and_flipped_byte_of_a_dictionary_encoded_stream_is_refused_in_the_users_words()
    {
        var readings = TestSpecs.Readings(6, 4);
        var dictionary = new StringArray.Builder().AppendRange(readings.Select(r => r.Device).Distinct()).Build();
        var indices = new Int32Array.Builder().AppendRange(readings.Select(r => readings.Select(x => x.Device).Distinct().ToList().IndexOf(r.Device))).Build();
        var device = new DictionaryArray(new DictionaryType(Int32Type.Default, StringType.Default, false), indices, dictionary);
        var batch = new RecordBatch.Builder()
            .Append("device", false, device)
            .Append("temperature", false, new FloatArray.Builder().AppendRange(readings.Select(r => r.Temperature)).Build())
            .Build();
        var bytes = Write(batch);
        var failures = new List<string>();
        var random = new Random(5);
        for (var trial = 0; trial < 600; trial++)
        {
            var copy = trial < bytes.Length ? bytes[..trial] : (byte[])bytes.Clone();
            if (trial >= bytes.Length) copy[random.Next(copy.Length)] = (byte)random.Next(256);
            var ex = await ScoreAsync(copy);
            if (ex is null) continue;
            if (ex.StatusCode != StatusCode.InvalidArgument || ex.Status.Detail.Contains("Exception", StringComparison.Ordinal))
                failures.Add($"trial {trial}: {ex.StatusCode} {ex.Status.Detail}");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(20)));
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task A_batch_without_columns_and_a_batch_without_rows()
    {
        var empty = new RecordBatch(new Apache.Arrow.Schema([], null), [], 5);
        var ex = await ScoreAsync(Write(empty));
        Assert.NotNull(ex);
        AssertUserWords(ex, "no columns");
        var none = Write(new RecordBatch.Builder()
            .Append("temperature", false, new FloatArray.Builder().Build()).Build());
        ex = await ScoreAsync(none);
        Assert.NotNull(ex);
        AssertUserWords(ex, "no rows");
        Assert.Contains("the request has no rows", ex.Status.Detail, StringComparison.Ordinal);
        await AssertStillServesAsync();
    }
}

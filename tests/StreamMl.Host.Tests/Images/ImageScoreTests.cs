using System.Globalization;
using System.Text.Json;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using Google.Protobuf;
using Grpc.Net.Client;
using StreamMl.Host.Hosting;
using StreamMl.Host.Protos;
using StreamMl.Host.Registry;
using StreamMl.Host.Tests.Inference;
using StreamMl.Host.Tests.Node;
using StreamMl.Host.Training;
using StreamMl.Images.Backbone;
using StreamMl.Images.Decoding;
using StreamMl.Images.Onnx;
using StreamMl.Images.Preprocessing;

namespace StreamMl.Host.Tests.Images;

/// <summary>gRPC Score with encoded image bytes (issue 15 item 5): a pipeline whose grpc source has a binary column and
/// whose model is a registered image classifier answers each JPEG/PNG with its top-k classes and probabilities, equal to
/// the registered graph run outside the host on the same bytes; bad bytes are rejected per row with the reason.</summary>
public sealed class ImageScoreTests : IDisposable
{
    private static readonly string[] s_classes = TinyImageSet.Classes;
    private readonly string _root = Directory.CreateTempSubdirectory("streamml-image-score-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [SkippableFact]
    public async Task Score_answers_jpeg_and_png_bytes_with_the_models_top_classes_and_rejects_bad_bytes_per_row()
    {
        var registry = await TrainTinyModelAsync();
        var version = new ModelRegistry(registry).Open("tiny-images", 1);
        var onnx = await File.ReadAllBytesAsync(Path.Combine(version.Folder, ModelPackage.ModelFile));

        // Images the model did not train on (files 9 and 10 of each class), one re-encoded as PNG.
        var files = s_classes.SelectMany(c => Directory.GetFiles(SharedData.File("caltech20", c)).Order(StringComparer.Ordinal).Skip(8).Take(2)).ToArray();
        var images = files.Select(File.ReadAllBytes).ToList();
        images[1] = ToPng(images[1]);
        var expected = images.Select(bytes => Reference(onnx, bytes)).ToList();

        await using var server = await StreamMlServer.StartAsync(new StreamMlOptions { Port = 0, MetricsPort = -1, HttpPort = 0, RegistryPath = registry });
        using var channel = GrpcChannel.ForAddress(server.Address, new GrpcChannelOptions { MaxSendMessageSize = 64 << 20 });
        await new Control.ControlClient(channel).CreatePipelineAsync(new CreatePipelineRequest
        {
            Spec = $$"""
                name: photos
                source: { kind: grpc, columns: { id: string, image: binary } }
                model: { kind: image, name: tiny-images, registry: {{registry}}, input: image, top_k: 2 }
                sinks: [ { kind: memory } ]
                """,
            Start = true,
        });
        var dataPlane = new DataPlane.DataPlaneClient(channel);

        var set = new RowSet { Columns = { "id", "image" } };
        foreach (var (bytes, i) in images.Select((b, i) => (b, i)))
            set.Rows.Add(new Row { Values = { new Value { Text = $"good{i}" }, new Value { Data = ByteString.CopyFrom(bytes) } } });
        string[] bad = ["text", "truncated", "empty", "null"];
        set.Rows.Add(new Row { Values = { new Value { Text = "text" }, new Value { Data = ByteString.CopyFromUtf8("this is not an image") } } });
        set.Rows.Add(new Row { Values = { new Value { Text = "truncated" }, new Value { Data = ByteString.CopyFrom(images[0].AsSpan(0, images[0].Length / 3)) } } });
        set.Rows.Add(new Row { Values = { new Value { Text = "empty" }, new Value { Data = ByteString.Empty } } });
        set.Rows.Add(new Row { Values = { new Value { Text = "null" }, new Value() } });
        var response = await dataPlane.ScoreAsync(new ScoreRequest { Pipeline = "photos", Rows = set });

        Assert.Equal(images.Count + bad.Length, response.Scores.Count);
        for (var i = 0; i < images.Count; i++) AssertTopClasses(expected[i], response.Scores[i], $"row {i} ({Path.GetFileName(files[i])})");
        Assert.Equal(images.Count, Enumerable.Range(0, images.Count).Count(i => response.Scores[i].Label == s_classes[i / 2]));
        var reasons = response.Scores.Skip(images.Count).Select(s => (s.Rejected, s.Reason)).ToArray();
        Assert.All(reasons, r => Assert.True(r.Rejected));
        Assert.Contains("column 'image': not a JPEG or PNG image", reasons[0].Reason);
        Assert.Contains("column 'image': the image is truncated", reasons[1].Reason);
        Assert.Contains("column 'image': the image is empty", reasons[2].Reason);
        Assert.Contains("column 'image' is null", reasons[3].Reason);
        Assert.All(reasons, r => Assert.DoesNotContain("Exception", r.Reason));

        // The same images as an Arrow IPC binary column answer the same.
        var column = new BinaryArray.Builder();
        foreach (var bytes in images) column.Append(bytes.AsSpan());
        var arrow = new RecordBatch.Builder().Append("image", false, column.Build()).Build();
        using var stream = new MemoryStream();
        using (var writer = new ArrowStreamWriter(stream, arrow.Schema))
        {
            await writer.WriteRecordBatchAsync(arrow);
            await writer.WriteEndAsync();
        }
        var fromArrow = await dataPlane.ScoreAsync(new ScoreRequest { Pipeline = "photos", ArrowIpc = ByteString.CopyFrom(stream.ToArray()) });
        for (var i = 0; i < images.Count; i++) AssertTopClasses(expected[i], fromArrow.Scores[i], $"Arrow row {i}");

        await ParquetBlobsAreScoredByStreammlRunAsync(registry, files, expected);

        // A client the host did not write: the Python package over Debian's python3-grpcio, image files as bytes.
        var root = await PythonTool.RequireAsync();
        var pngFile = Path.Combine(_root, "second.png");
        await File.WriteAllBytesAsync(pngFile, images[1]);
        var uri = new Uri(server.Address);
        var (code, output, error) = await NodeTool.RunAsync(PythonTool.Python,
            [Path.Combine(root, "clients", "python", "examples", "score_images.py"), $"{uri.Host}:{uri.Port}", "-", "photos", files[0], pngFile, files[2]], root);
        Assert.True(code == 0, $"python exited {code}: {error}");
        using var json = JsonDocument.Parse(output);
        var answers = json.RootElement.EnumerateArray().ToArray();
        int[] sent = [0, 1, 2];
        for (var k = 0; k < sent.Length; k++)
        {
            var answer = answers[k];
            Assert.False(answer.GetProperty("rejected").GetBoolean(), answer.GetProperty("reason").GetString());
            Assert.Equal("tiny-images@1", answer.GetProperty("model").GetString());
            var top = answer.GetProperty("top_classes").EnumerateArray().ToArray();
            Assert.Equal(2, top.Length);
            for (var rank = 0; rank < 2; rank++)
            {
                var (label, probability) = expected[sent[k]][rank];
                Assert.Equal(label, top[rank][0].GetString());
                Assert.True(Math.Abs(probability - top[rank][1].GetDouble()) <= 1e-5, $"python row {k} rank {rank}");
            }
        }
    }

    /// <summary>Encoded images in a Parquet BLOB column (written by DuckDB's read_blob) scored by <c>streamml run</c>
    /// into Parquet: DuckDB reads the same top classes back; a text file in the column is a dead letter, not a row.</summary>
    private async Task ParquetBlobsAreScoredByStreammlRunAsync(string registry, string[] files, List<List<(string Label, float Probability)>> expected)
    {
        var notes = Path.Combine(_root, "notes.jpg");
        await File.WriteAllTextAsync(notes, "not an image");
        var input = Path.Combine(_root, "blobs.parquet");
        var list = string.Join(", ", files.Append(notes).Select(f => $"'{f}'"));
        Query($"COPY (SELECT filename AS path, content AS image FROM read_blob([{list}])) TO '{input}' (FORMAT parquet)");
        var spec = Path.Combine(_root, "blobs.yaml");
        await File.WriteAllTextAsync(spec, $$"""
            name: blobs
            source: { kind: file, path: blobs.parquet }
            model: { kind: image, name: tiny-images, registry: {{registry}}, input: image, top_k: 2 }
            sinks: [ { kind: parquet, path: scored } ]
            """);
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        Assert.Equal(0, await StreamMl.Host.Cli.CliApp.RunAsync(["run", spec, "--plain"], stdout, stderr));
        Assert.Contains("rejected=1", stdout.ToString());
        var rows = Query($"SELECT path, top1_class, top1_probability, top2_class FROM read_parquet('{Path.Combine(_root, "scored", "**", "*.parquet")}') ORDER BY path");
        Assert.Equal(files.Length, rows.Count);
        // files[1] went to Score re-encoded as PNG; the Parquet holds its original JPEG, so it is not compared.
        foreach (var row in rows.Where(r => (string)r[0]! != files[1]))
        {
            var i = System.Array.IndexOf(files, (string)row[0]!);
            Assert.Equal((expected[i][0].Label, expected[i][1].Label), ((string)row[1]!, (string)row[3]!));
            Assert.True(Math.Abs(expected[i][0].Probability - Convert.ToSingle(row[2], CultureInfo.InvariantCulture)) <= 1e-5, $"parquet row {i}");
        }
    }

    private static List<object?[]> Query(string sql)
    {
        using var connection = new DuckDB.NET.Data.DuckDBConnection("Data Source=:memory:");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<object?[]>();
        while (reader.Read()) rows.Add([.. Enumerable.Range(0, reader.FieldCount).Select(i => reader.IsDBNull(i) ? null : reader.GetValue(i))]);
        return rows;
    }

    private static void AssertTopClasses(IReadOnlyList<(string Label, float Probability)> expected, RowScore scored, string what)
    {
        Assert.False(scored.Rejected, $"{what}: {scored.Reason}");
        Assert.Equal(2, scored.TopClasses.Count);
        for (var rank = 0; rank < 2; rank++)
        {
            Assert.Equal(expected[rank].Label, scored.TopClasses[rank].Label);
            Assert.True(Math.Abs(expected[rank].Probability - scored.TopClasses[rank].Probability) <= 1e-5,
                string.Create(CultureInfo.InvariantCulture, $"{what} rank {rank}: {expected[rank].Probability} vs {scored.TopClasses[rank].Probability}"));
        }
        Assert.Equal((scored.TopClasses[0].Label, scored.TopClasses[0].Probability), (scored.Label, scored.Score));
        Assert.Equal(("tiny-images", "1"), (scored.ModelName, scored.ModelVersion));
    }

    /// <summary>The registered graph run in ONNX Runtime on the preprocessed bytes, classes sorted by probability.</summary>
    private static List<(string, float)> Reference(byte[] onnx, byte[] encoded)
    {
        using var preprocessor = new ImagePreprocessor();
        var tensor = new float[new ImageGeometry().TensorLength];
        Assert.Equal(StreamMl.Images.Decoding.ImageDecodeStatus.Ok, preprocessor.Preprocess(encoded, tensor));
        using var session = new ImageModelSession(onnx);
        var probabilities = session.Run(tensor, 1, ImageModels.Probabilities);
        return [.. Enumerable.Range(0, s_classes.Length).OrderByDescending(c => probabilities[c]).Select(c => (s_classes[c], probabilities[c]))];
    }

    private static byte[] ToPng(byte[] jpeg)
    {
        using var bitmap = SkiaSharp.SKBitmap.Decode(jpeg);
        using var data = bitmap.Encode(SkiaSharp.SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    private async Task<string> TrainTinyModelAsync()
    {
        var data = TinyImageSet.Copy(_root, perClass: 8);
        var spec = TrainSpec.Parse("""
            name: tiny-images
            data: { kind: images, path: data }
            task: multiclass
            trainer: lr
            validation: { folds: 2, seed: 5, holdout: 0.25 }
            registry: { path: models }
            """, json: false, "tiny.yaml");
        spec.BaseDirectory = _root;
        await TrainingRunner.RunAsync(spec);
        return Path.Combine(_root, "models");
    }
}

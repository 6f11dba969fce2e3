using System.Globalization;
using StreamMl.Engine;
using StreamMl.Images.Backbone;
using StreamMl.Images.Onnx;
using StreamMl.Images.Preprocessing;
using StreamMl.Images.Sources;

namespace StreamMl.Images.Serving;

/// <summary>Scores images with an image classifier (one ONNX graph: pixels → probabilities) and writes the top-k classes
/// and their probabilities: <c>top1_class</c>, <c>top1_probability</c>, ... The input column is either a string column
/// of file paths or a binary column of encoded JPEG/PNG bytes (a gRPC Score payload, a Kafka value, a Parquet byte
/// array). Images are decoded and preprocessed in this stage and scored in ONNX Runtime batches; a file or value that
/// cannot be read or decoded is rejected to the dead letters with its path (or column) and the reason.</summary>
public sealed class ImageClassifierOperator : IBatchOperator, IDisposable
{
    private readonly ImageModelSession _model;
    private readonly IReadOnlyList<string> _classes;
    private readonly string _pathColumn;
    private readonly int _topK;
    private readonly ImagePreprocessor _preprocessor = new();
    private readonly ImageTensorBatch _images;
    private readonly int[] _rowOfImage;
    private readonly float[] _probabilities;
    private readonly int[] _best;
    private byte[] _fileBuffer = new byte[1 << 20];
    private readonly string? _modelId;
    private int _path = -1;
    private bool _encodedBytes;
    private int _modelColumn = -1;
    private int[] _classColumns = [];
    private int[] _probabilityColumns = [];

    /// <summary>Creates the operator for the classifier <paramref name="onnx"/> whose outputs are <paramref name="classes"/>.
    /// <paramref name="pathColumn"/> names the input: a string column of file paths or a binary column of encoded images.
    /// With <paramref name="modelId"/> (e.g. <c>caltech20@1</c>) a <c>model</c> column names the model on every scored row.</summary>
    public ImageClassifierOperator(byte[] onnx, IReadOnlyList<string> classes, int topK = 3, string pathColumn = ImageFolderSource.PathColumn,
        int batchSize = 16, int intraOpThreads = 0, string? modelId = null)
    {
        _modelId = modelId;
        _model = new ImageModelSession(onnx, intraOpThreads);
        var width = _model.OutputWidths[_model.Outputs.ToList().IndexOf(ImageModels.Probabilities)];
        if (width != classes.Count)
            throw new StreamMlException($"the image model predicts {width} classes but {classes.Count} class names were given");
        _classes = classes;
        _topK = Math.Clamp(topK, 1, classes.Count);
        _pathColumn = pathColumn;
        _images = new ImageTensorBatch(batchSize);
        _rowOfImage = new int[batchSize];
        _probabilities = new float[batchSize * classes.Count];
        _best = new int[_topK];
    }

    /// <inheritdoc/>
    public string Name => "image-classifier";

    /// <summary>The column naming the model (<c>name@version</c>), when a model id was given.</summary>
    public const string ModelColumn = "model";

    /// <summary>The names of the output columns for rank <paramref name="rank"/> (1-based).</summary>
    public static (string Class, string Probability) Columns(int rank) =>
        (string.Create(CultureInfo.InvariantCulture, $"top{rank}_class"), string.Create(CultureInfo.InvariantCulture, $"top{rank}_probability"));

    /// <inheritdoc/>
    public Schema Bind(Schema input)
    {
        var index = input.IndexOf(_pathColumn);
        _encodedBytes = index >= 0 && input[index].Type == ColumnType.Binary;
        if (!_encodedBytes) input.Require(_pathColumn, ColumnType.String);
        var fields = new List<Field>();
        if (_modelId is not null) fields.Add(new Field(ModelColumn, ColumnType.String));
        for (var rank = 1; rank <= _topK; rank++)
        {
            var (c, p) = Columns(rank);
            fields.Add(new Field(c, ColumnType.String));
            fields.Add(new Field(p, ColumnType.Float32));
        }
        var output = input.Add([.. fields]);
        _path = output.IndexOf(_pathColumn);
        _modelColumn = _modelId is null ? -1 : output.IndexOf(ModelColumn);
        _classColumns = [.. Enumerable.Range(1, _topK).Select(r => output.IndexOf(Columns(r).Class))];
        _probabilityColumns = [.. Enumerable.Range(1, _topK).Select(r => output.IndexOf(Columns(r).Probability))];
        return output;
    }

    /// <inheritdoc/>
    public void Process(ColumnBatch batch, StageContext context)
    {
        if (_encodedBytes)
        {
            ProcessEncoded(batch, context);
            return;
        }
        var paths = batch[_path];
        var codes = paths.Values<int>();
        _images.Clear();
        for (var row = 0; row < batch.Length; row++)
        {
            if (!batch.Selection.IsSelected(row)) continue;
            var path = paths.Dictionary![codes[row]];
            if (!TryRead(path, out var length, out var error))
            {
                context.Reject(batch, row, "read", error);
                continue;
            }
            var status = _preprocessor.Preprocess(_fileBuffer.AsSpan(0, length), _images.NextSlot);
            if (status != Decoding.ImageDecodeStatus.Ok)
            {
                context.Reject(batch, row, "decode", $"{path}: {Decoding.ImageDecodeStatuses.Reason(status)}");
                continue;
            }
            _rowOfImage[_images.Count] = row;
            _images.Commit(-1, path);
            if (_images.IsFull) Score(batch);
        }
        Score(batch);
    }

    private void ProcessEncoded(ColumnBatch batch, StageContext context)
    {
        var images = batch[_path];
        _images.Clear();
        for (var row = 0; row < batch.Length; row++)
        {
            if (!batch.Selection.IsSelected(row)) continue;
            if (!images.IsValid(row))
            {
                context.Reject(batch, row, "decode", $"column '{_pathColumn}' is null: send the image's JPEG or PNG bytes");
                continue;
            }
            var status = _preprocessor.Preprocess(images.GetBytes(row), _images.NextSlot);
            if (status != Decoding.ImageDecodeStatus.Ok)
            {
                context.Reject(batch, row, "decode", $"column '{_pathColumn}': {Decoding.ImageDecodeStatuses.Reason(status)}");
                continue;
            }
            _rowOfImage[_images.Count] = row;
            _images.Commit(-1, _pathColumn);
            if (_images.IsFull) Score(batch);
        }
        Score(batch);
    }

    private void Score(ColumnBatch batch)
    {
        if (_images.Count == 0) return;
        var classes = _classes.Count;
        _model.Run(_images.Tensor, _images.Count, ImageModels.Probabilities, _probabilities);
        for (var image = 0; image < _images.Count; image++)
        {
            var row = _rowOfImage[image];
            var probabilities = _probabilities.AsSpan(image * classes, classes);
            TopK.Select(probabilities, _best);
            if (_modelColumn >= 0)
            {
                var model = batch[_modelColumn];
                model.Values<int>()[row] = model.Dictionary!.GetOrAdd(_modelId!);
            }
            for (var rank = 0; rank < _topK; rank++)
            {
                var classColumn = batch[_classColumns[rank]];
                classColumn.Values<int>()[row] = classColumn.Dictionary!.GetOrAdd(_classes[_best[rank]]);
                batch[_probabilityColumns[rank]].Values<float>()[row] = probabilities[_best[rank]];
            }
        }
        _images.Clear();
    }

    private bool TryRead(string path, out int length, out string error)
    {
        length = 0;
        error = "";
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1);
            if (file.Length > _fileBuffer.Length) _fileBuffer = new byte[(int)Math.Min(Array.MaxLength, Math.Max(file.Length, _fileBuffer.Length * 2L))];
            length = file.ReadAtLeast(_fileBuffer, (int)Math.Min(file.Length, _fileBuffer.Length), throwOnEndOfStream: false);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = $"{path}: the file cannot be read ({e.Message})";
            return false;
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _model.Dispose();
        _preprocessor.Dispose();
    }
}

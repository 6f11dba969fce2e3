using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using Google.Protobuf;
using StreamMl.Engine;
using StreamMl.Host.Grpc.Inference.Protocol;
using StreamMl.Host.Pipelines;
using InputTensor = StreamMl.Host.Grpc.Inference.Protocol.ModelInferRequest.Types.InferInputTensor;
using OutputTensor = StreamMl.Host.Grpc.Inference.Protocol.ModelInferResponse.Types.InferOutputTensor;

namespace StreamMl.Host.Grpc.Inference;

/// <summary>A ModelInfer request as a Score payload: one input tensor per input column, of shape [rows] or [rows, 1]
/// and the column's datatype, in typed <c>contents</c> or in <c>raw_input_contents</c>. The constructor checks it all
/// (an <see cref="InferenceException"/> names the input, its datatype and shape); <see cref="Fill"/> then only copies.
/// The answers come back typed, or raw when the request was raw (as the client chose).</summary>
internal struct TensorPayload : IScorePayload
{
    private readonly ModelInferRequest _request;
    private readonly InferenceModels.Served _model;
    private readonly int[] _columns;
    private readonly bool _raw;

    public TensorPayload(ModelInferRequest request, InferenceModels.Served model)
    {
        _request = request;
        _model = model;
        Response = new ModelInferResponse { ModelName = model.Name, ModelVersion = model.Version, Id = request.Id };
        var schema = model.Pipeline.InputSchema;
        var inputs = request.Inputs;
        if (inputs.Count == 0) throw InferenceException.BadInput($"the request has no inputs; model '{model.Name}' takes {Describe(schema)}");
        _raw = request.RawInputContents.Count > 0;
        if (_raw && request.RawInputContents.Count != inputs.Count)
            throw InferenceException.BadInput($"raw_input_contents has {request.RawInputContents.Count} entries for {inputs.Count} inputs: send one per input, in the order of inputs");
        _columns = new int[inputs.Count];
        var rows = -1;
        for (var i = 0; i < inputs.Count; i++)
        {
            var input = inputs[i];
            var column = schema.IndexOf(input.Name);
            if (column < 0) throw InferenceException.BadInput($"input '{input.Name}' is not an input of model '{model.Name}'; it takes {Describe(schema)}");
            if (Array.IndexOf(_columns, column, 0, i) >= 0) throw InferenceException.BadInput($"input '{input.Name}' appears twice");
            _columns[i] = column;
            var datatype = TensorTypes.Of(schema[column].Type);
            if (input.Datatype != datatype)
                throw InferenceException.BadInput($"input '{input.Name}' is {Show(input.Datatype)} but model '{model.Name}' takes {datatype} for it");
            var n = RowsOf(input);
            if (rows >= 0 && n != rows)
                throw InferenceException.BadInput($"input '{input.Name}' has {n} rows (shape {Shape(input)}) but input '{inputs[0].Name}' has {rows} (shape {Shape(inputs[0])}); every input needs the same number of rows");
            rows = n;
            var elements = _raw ? RawElements(input, request.RawInputContents[i]) : TypedElements(input, out _);
            if (elements != n)
                throw InferenceException.BadInput(_raw
                    ? $"input '{input.Name}' ({datatype}, shape {Shape(input)}) has {request.RawInputContents[i].Length} bytes of raw contents; the shape needs {n} elements{(TensorTypes.RawSize(datatype) > 0 ? $" of {TensorTypes.RawSize(datatype)} bytes" : " (each a 4-byte length and its bytes)")}"
                    : $"input '{input.Name}' ({datatype}, shape {Shape(input)}) holds {elements} elements in {TypedElementsField(datatype)}; the shape needs {n}");
            if (!_raw && input.Contents is null && n > 0) throw InferenceException.BadInput($"input '{input.Name}' has no contents: set contents.{TypedElementsField(datatype)} or raw_input_contents");
        }
        foreach (var field in schema)
            if (!field.Nullable && Array.IndexOf(_columns, schema.IndexOf(field.Name)) < 0)
                throw InferenceException.BadInput($"input '{field.Name}' ({TensorTypes.Of(field.Type)}) is missing; model '{model.Name}' needs it (it takes {Describe(schema)})");
        if (rows == 0) throw InferenceException.BadInput($"the inputs have 0 rows (shape {Shape(inputs[0])}); send at least one");
        Rows = rows;
        var outputs = model.Outputs;
        foreach (var requested in request.Outputs)
            if (Array.FindIndex(outputs, o => o.Name == requested.Name) < 0)
                throw InferenceException.BadInput($"output '{requested.Name}' is not an output of model '{model.Name}'; its outputs are {string.Join(", ", outputs.Select(o => $"{o.Name} ({o.Datatype})"))}");
    }

    public int Rows { get; }

    /// <summary>The answer, complete after <see cref="Read"/>.</summary>
    public ModelInferResponse Response { get; }

    public readonly void Fill(ColumnBatch batch, Schema input)
    {
        var n = Rows;
        Span<bool> sent = input.Count <= 256 ? stackalloc bool[input.Count] : new bool[input.Count];
        for (var i = 0; i < _columns.Length; i++)
        {
            sent[_columns[i]] = true;
            var column = batch[_columns[i]];
            if (_raw) FillRaw(column, _request.RawInputContents[i].Span, n);
            else FillTyped(column, _request.Inputs[i].Contents, n);
        }
        for (var c = 0; c < sent.Length; c++)
            if (!sent[c])
                for (var r = 0; r < n; r++) batch[c].SetNull(r);
    }

    public readonly void Read(ColumnBatch batch, ReadOnlySpan<string?> reasons, int scoreIndex, int modelIndex, ScoreChain chain)
    {
        var n = Rows;
        var scores = new float[n];
        var rejected = new bool[n];
        var models = new string[n];
        var why = new string[n];
        string? answered = null;
        var mixed = false;
        var scoreColumn = scoreIndex >= 0 ? batch[scoreIndex] : null;
        for (var row = 0; row < n; row++)
        {
            if (!batch.Selection.IsSelected(row))
            {
                (scores[row], rejected[row], models[row], why[row]) = (float.NaN, true, "", reasons[row] ?? "rejected");
            }
            else if (scoreColumn is not null && scoreColumn.IsValid(row))
            {
                scores[row] = scoreColumn.Values<float>()[row];
                models[row] = modelIndex >= 0 ? batch[modelIndex].Dictionary![batch[modelIndex].Values<int>()[row]] : "";
                why[row] = "";
                mixed |= answered is not null && !ReferenceEquals(answered, models[row]) && answered != models[row];
                answered ??= models[row];
            }
            else
            {
                (scores[row], rejected[row], models[row], why[row]) = (float.NaN, true, "", "no model is deployed to this pipeline: deploy one with Control.DeployModel");
            }
        }
        // Rows answered by one version report it; an A/B split reports the primary's and each row its own in 'model'.
        if (!mixed && answered is not null)
        {
            // The deployed entry's own version string, when it is deployed still (no substring per call).
            if (Models.ModelSelector.FindById(_model.Deployment, answered) is { } entry) Response.ModelVersion = entry.Version;
            else if (answered.LastIndexOf('@') is var at and >= 0) Response.ModelVersion = answered[(at + 1)..];
        }

        var outputs = _model.Outputs;
        string[]? labels = null;
        float[]? probabilities = null;
        if (outputs.Length > InferenceModels.Outputs.Length) (labels, probabilities) = Classify(scores, models, chain);

        foreach (var (name, datatype) in outputs)
        {
            if (_request.Outputs.Count > 0 && !_request.Outputs.Any(o => o.Name == name)) continue;
            var tensor = new OutputTensor { Name = name, Datatype = datatype, Shape = { n } };
            if (name == InferenceModels.ProbabilitiesOutput) tensor.Shape.Add(_model.ClassCount);
            Response.Outputs.Add(tensor);
            if (_raw)
            {
                Response.RawOutputContents.Add(name switch
                {
                    InferenceModels.ScoreOutput => ByteString.CopyFrom(MemoryMarshal.AsBytes(scores.AsSpan())),
                    InferenceModels.RejectedOutput => ByteString.CopyFrom(MemoryMarshal.AsBytes(rejected.AsSpan())),
                    InferenceModels.ModelOutput => RawStrings(models),
                    InferenceModels.LabelOutput => RawStrings(labels!),
                    InferenceModels.ProbabilitiesOutput => ByteString.CopyFrom(MemoryMarshal.AsBytes(probabilities.AsSpan())),
                    _ => RawStrings(why),
                });
                continue;
            }
            var contents = tensor.Contents = new InferTensorContents();
            switch (name)
            {
                case InferenceModels.ScoreOutput: contents.Fp32Contents.Add(scores); break;
                case InferenceModels.RejectedOutput: contents.BoolContents.Add(rejected); break;
                case InferenceModels.ModelOutput: foreach (var m in models) contents.BytesContents.Add(ByteString.CopyFromUtf8(m)); break;
                case InferenceModels.LabelOutput: foreach (var l in labels!) contents.BytesContents.Add(ByteString.CopyFromUtf8(l)); break;
                case InferenceModels.ProbabilitiesOutput: contents.Fp32Contents.Add(probabilities!); break;
                default: foreach (var w in why) contents.BytesContents.Add(ByteString.CopyFromUtf8(w)); break;
            }
        }
    }

    /// <summary>Label and class probabilities of each row, as Score's: binary P(class 0), P(class 1) and the class after
    /// the threshold; multiclass the scorer's probability per class and the most probable class. "" and NaN for rejected
    /// rows and rows answered by a model with other classes (a candidate under an A/B split).</summary>
    private readonly (string[] Labels, float[] Probabilities) Classify(float[] scores, string[] models, ScoreChain chain)
    {
        var classes = _model.ClassCount;
        var labels = new string[scores.Length];
        var probabilities = new float[scores.Length * classes];
        for (var row = 0; row < scores.Length; row++)
        {
            var entry = models[row].Length == 0 ? null : Models.ModelSelector.FindById(_model.Deployment, models[row]);
            var answered = probabilities.AsSpan(row * classes, classes);
            labels[row] = "";
            if (float.IsNaN(scores[row]) || InferenceModels.Classes(entry) != classes)
            {
                answered.Fill(float.NaN);
            }
            else if (InferenceModels.IsBinary(entry))
            {
                (answered[0], answered[1]) = (1 - scores[row], scores[row]);
                labels[row] = entry!.Classes[scores[row] >= entry.Threshold ? 1 : 0];
            }
            else if (chain.ClassScores(entry!, row, answered))
            {
                var best = 0;
                for (var c = 1; c < classes; c++)
                    if (answered[c] > answered[best]) best = c;
                labels[row] = entry!.Classes[best];
            }
            else
            {
                answered.Fill(float.NaN);
            }
        }
        return (labels, probabilities);
    }

    private static ByteString RawStrings(string[] values)
    {
        var bytes = new byte[values.Sum(v => 4 + Encoding.UTF8.GetByteCount(v))];
        var at = 0;
        foreach (var value in values)
        {
            var length = Encoding.UTF8.GetBytes(value, bytes.AsSpan(at + 4));
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(at), (uint)length);
            at += 4 + length;
        }
        return UnsafeByteOperations.UnsafeWrap(bytes);
    }

    private static void FillTyped(Column column, InferTensorContents contents, int n)
    {
        switch (column.Type)
        {
            case ColumnType.Float32: Copy(contents.Fp32Contents, column.Values<float>(), n); break;
            case ColumnType.Float64: Copy(contents.Fp64Contents, column.Values<double>(), n); break;
            case ColumnType.Int32: Copy(contents.IntContents, column.Values<int>(), n); break;
            case ColumnType.Int64 or ColumnType.Timestamp: Copy(contents.Int64Contents, column.Values<long>(), n); break;
            case ColumnType.Bool:
                {
                    var values = column.Values<byte>();
                    for (var r = 0; r < n; r++) values[r] = contents.BoolContents[r] ? (byte)1 : (byte)0;
                    break;
                }
            default:
                {
                    var codes = column.Values<int>();
                    for (var r = 0; r < n; r++) codes[r] = Intern(column.Dictionary!, contents.BytesContents[r].Span);
                    break;
                }
        }
    }

    private static void Copy<T>(Google.Protobuf.Collections.RepeatedField<T> from, Span<T> to, int n)
    {
        for (var r = 0; r < n; r++) to[r] = from[r];
    }

    private static void FillRaw(Column column, ReadOnlySpan<byte> raw, int n)
    {
        // Raw contents are little-endian, like every platform .NET runs this host on.
        switch (column.Type)
        {
            case ColumnType.Bool:
                {
                    var values = column.Values<byte>();
                    for (var r = 0; r < n; r++) values[r] = raw[r] != 0 ? (byte)1 : (byte)0;
                    break;
                }
            case ColumnType.String:
                {
                    var codes = column.Values<int>();
                    for (var r = 0; r < n; r++)
                    {
                        var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(raw);
                        codes[r] = Intern(column.Dictionary!, raw.Slice(4, length));
                        raw = raw[(4 + length)..];
                    }
                    break;
                }
            default:
                raw[..(n * TensorTypes.RawSize(TensorTypes.Of(column.Type)))].CopyTo(column.RawValues);
                break;
        }
    }

    private static int Intern(StringDictionary dictionary, ReadOnlySpan<byte> utf8)
    {
        Span<char> chars = utf8.Length <= 256 ? stackalloc char[utf8.Length] : new char[utf8.Length];
        return dictionary.GetOrAdd(chars[..Encoding.UTF8.GetChars(utf8, chars)]);
    }

    private static int RowsOf(InputTensor input)
    {
        var shape = input.Shape;
        if (shape.Count is 1 or 2 && shape[0] >= 0 && (shape.Count == 1 || shape[1] == 1) && shape[0] <= int.MaxValue) return (int)shape[0];
        throw InferenceException.BadInput($"input '{input.Name}' has shape {Shape(input)}; a column takes shape [rows] or [rows, 1]");
    }

    /// <summary>Elements in the typed field of the input's datatype (the others must be empty).</summary>
    private static int TypedElements(InputTensor input, out string field)
    {
        field = TypedElementsField(input.Datatype);
        var c = input.Contents;
        if (c is null) return 0;
        var counts = (Bool: c.BoolContents.Count, Int: c.IntContents.Count, Int64: c.Int64Contents.Count, Fp32: c.Fp32Contents.Count,
            Fp64: c.Fp64Contents.Count, Bytes: c.BytesContents.Count);
        var own = input.Datatype switch
        {
            TensorTypes.Bool => counts.Bool,
            TensorTypes.Int32 => counts.Int,
            TensorTypes.Int64 => counts.Int64,
            TensorTypes.Fp32 => counts.Fp32,
            TensorTypes.Fp64 => counts.Fp64,
            _ => counts.Bytes,
        };
        var all = counts.Bool + counts.Int + counts.Int64 + counts.Fp32 + counts.Fp64 + counts.Bytes + c.UintContents.Count + c.Uint64Contents.Count;
        if (all != own)
            throw InferenceException.BadInput($"input '{input.Name}' is {input.Datatype} but its contents fill other fields than {field}; put its elements in {field}");
        return own;
    }

    private static string TypedElementsField(string datatype) => datatype switch
    {
        TensorTypes.Bool => "bool_contents",
        TensorTypes.Int32 => "int_contents",
        TensorTypes.Int64 => "int64_contents",
        TensorTypes.Fp32 => "fp32_contents",
        TensorTypes.Fp64 => "fp64_contents",
        _ => "bytes_contents",
    };

    /// <summary>Elements in raw contents: fixed-size elements by length, BYTES by walking the length prefixes.</summary>
    private static int RawElements(InputTensor input, ByteString raw)
    {
        if (input.Contents is not null)
            throw InferenceException.BadInput($"input '{input.Name}' has contents as well as raw_input_contents: send one or the other");
        var size = TensorTypes.RawSize(input.Datatype);
        if (size > 0) return raw.Length % size == 0 ? raw.Length / size : -1;
        var span = raw.Span;
        var count = 0;
        while (span.Length > 0)
        {
            if (span.Length < 4) return -1;
            var length = BinaryPrimitives.ReadUInt32LittleEndian(span);
            if (length > span.Length - 4) return -1;
            span = span[(4 + (int)length)..];
            count++;
        }
        return count;
    }

    private static string Shape(InputTensor input) => $"[{string.Join(", ", input.Shape)}]";

    private static string Show(string datatype) => datatype.Length == 0 ? "of no datatype" : datatype.Length > 16 ? datatype[..16] + "…" : datatype;

    private static string Describe(Schema schema) =>
        string.Join(", ", schema.Select(f => $"{f.Name} ({TensorTypes.Of(f.Type)}{(f.Nullable ? ", optional" : "")})"));
}

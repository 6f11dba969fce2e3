using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using StreamMl.Engine;
using StreamMl.Operators.Scoring.Trees;

namespace StreamMl.Operators.Scoring;

/// <summary>A model could not be loaded or does not fit the columns it is asked to score; the message names the model,
/// the input or output, and what was expected.</summary>
public sealed class ScoringException(string message, Exception? inner = null)
    : StreamMlException(message, inner ?? new InvalidOperationException(message));

/// <summary>One tensor the model produces, as the scorer sees it.</summary>
/// <param name="Name">Output name in the ONNX graph (ML.NET writes "Score.output").</param>
/// <param name="ElementType">Element type.</param>
/// <param name="Width">Values per row (the second dimension; 1 for [-1] and [-1, 1]).</param>
public sealed record ModelOutput(string Name, TensorElementType ElementType, int Width);

/// <summary>An ONNX model loaded once into an ONNX Runtime session and shared by every scorer that uses it (sessions
/// are safe to run from several threads; each scorer keeps its own bindings). Disposing it frees the session: do that
/// after no scorer uses it any more.</summary>
public sealed class OnnxModel : IDisposable
{
    private readonly object _treeLock = new();
    private readonly Dictionary<string, (TreeModelProgram? Program, string? Reason)> _treePrograms = new(StringComparer.Ordinal);
    private readonly string? _path;
    private byte[]? _bytes;

    private OnnxModel(InferenceSession session, string name, string? path, byte[]? bytes)
    {
        _path = path;
        _bytes = bytes;
        Session = session;
        Name = name;
        Outputs = session.OutputMetadata
            .Where(kv => kv.Value.IsTensor)
            .Select(kv => new ModelOutput(kv.Key, kv.Value.ElementDataType, WidthOf(kv.Value.Dimensions)))
            .ToArray();
        Inputs = session.InputMetadata.Keys.ToArray();
    }

    /// <summary>Session options used when none are given: one intra-op thread. A pipeline already runs each stage on
    /// its own thread and scales out by partition; ONNX Runtime's default pool (one spinning thread per core) then
    /// competes with those stages. Measured on the 2-core build machine, a 100-tree LightGBM model on 4,096 x 32
    /// rows: 18.4 ms with one thread, 29.4 ms with the default pool, 47 ms with two threads.</summary>
    public static SessionOptions DefaultSessionOptions() => new() { IntraOpNumThreads = 1, InterOpNumThreads = 1 };

    /// <summary>Loads a model file. <paramref name="name"/> (default: the file name without extension) identifies the
    /// model in variant columns and shadow reports, e.g. "credit-v3". <paramref name="options"/> default to
    /// <see cref="DefaultSessionOptions"/>.</summary>
    public static OnnxModel Load(string path, string? name = null, SessionOptions? options = null)
    {
        if (!File.Exists(path)) throw new ScoringException($"model file '{path}' does not exist");
        try
        {
            using var defaults = options is null ? DefaultSessionOptions() : null;
            return new OnnxModel(new InferenceSession(path, options ?? defaults!), name ?? Path.GetFileNameWithoutExtension(path), path, null);
        }
        catch (OnnxRuntimeException e)
        {
            throw new ScoringException($"ONNX Runtime cannot load model '{path}': {e.Message}", e);
        }
    }

    /// <summary>Loads a model from its bytes; <paramref name="options"/> default to <see cref="DefaultSessionOptions"/>.</summary>
    public static OnnxModel FromBytes(byte[] model, string name, SessionOptions? options = null)
    {
        try
        {
            using var defaults = options is null ? DefaultSessionOptions() : null;
            return new OnnxModel(new InferenceSession(model, options ?? defaults!), name, null, model);
        }
        catch (OnnxRuntimeException e)
        {
            throw new ScoringException($"ONNX Runtime cannot load model '{name}': {e.Message}", e);
        }
    }

    /// <summary>Name used in variant columns and reports.</summary>
    public string Name { get; }

    /// <summary>The ONNX Runtime session (for callers that want to run the model themselves).</summary>
    public InferenceSession Session { get; }

    /// <summary>The model's input names.</summary>
    public IReadOnlyList<string> Inputs { get; }

    /// <summary>The model's tensor outputs.</summary>
    public IReadOnlyList<ModelOutput> Outputs { get; }

    /// <summary>The float input of shape [-1, <paramref name="features"/>] to feed with the feature matrix:
    /// <paramref name="preferred"/> when given, else the only such input (ML.NET names it "Features").</summary>
    public string FeatureInput(int features, string? preferred = null)
    {
        if (preferred is not null)
        {
            if (!Session.InputMetadata.TryGetValue(preferred, out var meta))
                throw new ScoringException($"model '{Name}' has no input '{preferred}'; its inputs are: {string.Join(", ", Inputs)}");
            Check(preferred, meta, features);
            return preferred;
        }
        var candidates = Session.InputMetadata.Where(kv => kv.Value.IsTensor && kv.Value.ElementDataType == TensorElementType.Float
            && kv.Value.Dimensions.Length == 2 && kv.Value.Dimensions[1] == features).Select(kv => kv.Key).ToArray();
        return candidates.Length switch
        {
            1 => candidates[0],
            0 => throw new ScoringException(
                $"model '{Name}' has no float input of shape [-1, {features}] for {features} features; its inputs are: " +
                string.Join(", ", Session.InputMetadata.Select(kv => $"{kv.Key} {kv.Value.ElementDataType} [{string.Join(",", kv.Value.Dimensions)}]"))),
            _ => candidates.Contains("Features") ? "Features" : throw new ScoringException(
                $"model '{Name}' has several [-1, {features}] float inputs ({string.Join(", ", candidates)}); name one in ScoringOptions.FeatureInput"),
        };
    }

    /// <summary>True when every name in <paramref name="columns"/> is a float input of shape [-1] or [-1, 1] (a model
    /// trained on separate columns and exported with ML.NET's Concatenate inside it): the scorer then binds each input
    /// to its batch column's own memory and copies nothing.</summary>
    public bool TakesColumns(IReadOnlyList<string> columns) => columns.Count > 0 && columns.All(c =>
        Session.InputMetadata.TryGetValue(c, out var m) && m.IsTensor && m.ElementDataType == TensorElementType.Float
        && (m.Dimensions.Length == 1 || (m.Dimensions.Length == 2 && m.Dimensions[1] == 1)));

    /// <summary>The model compiled for the engine's own tree evaluator when a scorer feeds it
    /// <paramref name="featureColumns"/> (as the matrix input <paramref name="featureInput"/>, or one input per column
    /// when that is null), or null with <paramref name="reason"/> when the graph holds something the evaluator does not
    /// handle. Compiled once per feeding and cached.</summary>
    internal TreeModelProgram? TreeProgram(string? featureInput, IReadOnlyList<string> featureColumns, out string? reason)
    {
        var key = (featureInput ?? "") + "\u0001" + string.Join('\u0001', featureColumns);
        lock (_treeLock)
        {
            if (!_treePrograms.TryGetValue(key, out var compiled))
            {
                try
                {
                    _bytes ??= File.ReadAllBytes(_path!);
                    var program = TreeModelProgram.TryCompile(_bytes, Outputs, featureInput, featureColumns, out var why);
                    compiled = (program, why);
                }
                catch (IOException e)
                {
                    compiled = (null, $"the model file could not be read again ({e.Message})");
                }
                _treePrograms[key] = compiled;
            }
            reason = compiled.Reason;
            return compiled.Program;
        }
    }

    private void Check(string input, NodeMetadata meta, int features)
    {
        if (meta.ElementDataType != TensorElementType.Float || meta.Dimensions.Length != 2 || (meta.Dimensions[1] != features && meta.Dimensions[1] > 0))
            throw new ScoringException(
                $"model '{Name}' input '{input}' is {meta.ElementDataType} [{string.Join(",", meta.Dimensions)}]; the scorer feeds float [-1, {features}]");
    }

    private static int WidthOf(int[] dims) => dims.Length <= 1 ? 1 : Math.Max(1, dims.Skip(1).Aggregate(1, (a, d) => a * Math.Max(d, 1)));

    /// <inheritdoc/>
    public override string ToString() => Name;

    /// <summary>Frees the session.</summary>
    public void Dispose() => Session.Dispose();
}

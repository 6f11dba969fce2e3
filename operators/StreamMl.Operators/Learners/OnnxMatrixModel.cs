using Microsoft.ML.OnnxRuntime;
using StreamMl.Engine;

namespace StreamMl.Operators.Learners;

/// <summary>An exported model loaded into ONNX Runtime, scoring whole [rows, features] matrices. Used to check an
/// export against ML.NET and to score held-out rows with a registered model (the champion); the streaming scoring
/// operator binds its buffers once and does not go through this class.</summary>
public sealed class OnnxMatrixModel : IDisposable
{
    private readonly InferenceSession _session;
    private readonly string _input;

    private OnnxMatrixModel(InferenceSession session, string source)
    {
        _session = session;
        if (session.InputMetadata.Count != 1)
            throw new StreamMlException(
                $"{source}: the model has {session.InputMetadata.Count} inputs ({string.Join(", ", session.InputMetadata.Keys)}); StreamMl models take one [rows, features] float matrix");
        var (name, meta) = session.InputMetadata.First();
        _input = name;
        if (meta.ElementType != typeof(float) || meta.Dimensions.Length != 2)
            throw new StreamMlException($"{source}: input '{name}' is not a [rows, features] float32 matrix");
        FeatureCount = meta.Dimensions[1];
    }

    /// <summary>Loads ONNX bytes; throws a <see cref="StreamMlException"/> saying the bytes are not an ONNX model when
    /// ONNX Runtime refuses them.</summary>
    public static OnnxMatrixModel Load(byte[] bytes, string source = "model")
    {
        InferenceSession session;
        try
        {
            session = new InferenceSession(bytes, new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL });
        }
        catch (OnnxRuntimeException e)
        {
            throw new StreamMlException($"{source} is not a valid ONNX model ({e.Message.Split('\n')[0]}); export it again or pick another file", e);
        }
        try
        {
            return new OnnxMatrixModel(session, source);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>Loads an ONNX file.</summary>
    public static OnnxMatrixModel Load(string path) => Load(File.ReadAllBytes(path), path);

    /// <summary>Width of the input matrix.</summary>
    public int FeatureCount { get; }

    /// <summary>Names of the model's outputs.</summary>
    public IReadOnlyList<string> OutputNames => _session.OutputMetadata.Keys.ToArray();

    /// <summary>Runs the model on a row-major [rows, FeatureCount] matrix and returns the float output named
    /// <paramref name="output"/> (ML.NET exports name it "Score.output" or similar; the prefix before the dot is enough).</summary>
    public float[] Run(float[] features, int rows, string output)
    {
        if (features.Length != rows * FeatureCount)
            throw new StreamMlException($"the model takes {FeatureCount} features per row; got {features.Length} values for {rows} rows");
        var name = ResolveOutput(output);
        using var input = OrtValue.CreateTensorValueFromMemory(features, [rows, FeatureCount]);
        using var results = _session.Run(new RunOptions(), [_input], [input], [name]);
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }

    /// <summary>The model's prediction per row in the layout of <see cref="IFittedModel.Predict"/>.</summary>
    public float[] Predict(TrainingSet set, LearningTask task) =>
        Run(set.Features, set.Rows, task == LearningTask.Binary ? "Probability" : "Score");

    private string ResolveOutput(string output)
    {
        foreach (var name in _session.OutputMetadata.Keys)
            if (name == output || name.StartsWith(output + ".", StringComparison.Ordinal)) return name;
        throw new StreamMlException($"the model has no output '{output}'; outputs are: {string.Join(", ", OutputNames)}");
    }

    /// <inheritdoc/>
    public void Dispose() => _session.Dispose();
}

using System.Reflection;
using StreamMl.Host.Grpc.Inference.Protocol;
using StreamMl.Host.Models;
using StreamMl.Host.Pipelines;

namespace StreamMl.Host.Grpc.Inference;

/// <summary>What the Open Inference Protocol calls models, mapped onto the host: a model name is a pipeline's name, or
/// the name of the registry model deployed as a pipeline's primary. Its inputs are the pipeline's input columns (what
/// Score takes), its outputs <see cref="Outputs"/>, its version the deployed primary's. Inference goes through the
/// pipeline's Score chain (<see cref="ManagedPipeline.Score{TPayload}"/>), so ModelInfer and Score answer alike.</summary>
internal sealed class InferenceModels(PipelineManager pipelines)
{
    /// <summary>The score (NaN for a rejected row), the <c>name@version</c> that answered, whether the row was rejected
    /// and why.</summary>
    public static readonly (string Name, string Datatype)[] Outputs =
    [
        (ScoreOutput, TensorTypes.Fp32), (ModelOutput, TensorTypes.Bytes), (RejectedOutput, TensorTypes.Bool), (ReasonOutput, TensorTypes.Bytes),
    ];

    /// <summary>Classifiers add the label (binary: after the model's threshold; multiclass: the most probable class) and
    /// one probability per class and row (shape [rows, classes], classes in the order of the model's classes), as
    /// Score's label and probabilities.</summary>
    public static readonly (string Name, string Datatype)[] ClassifierOutputs =
    [
        .. Outputs, (LabelOutput, TensorTypes.Bytes), (ProbabilitiesOutput, TensorTypes.Fp32),
    ];

    public const string LabelOutput = "label";
    public const string ProbabilitiesOutput = "probabilities";
    public const string ScoreOutput = "score";
    public const string ModelOutput = "model";
    public const string RejectedOutput = "rejected";
    public const string ReasonOutput = "reason";

    private static readonly string s_version =
        typeof(InferenceModels).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0";

    /// <summary>A model as served: the pipeline that scores it, the deployed primary (null before a deploy) and the
    /// deployed version the request named (null: route as deployed, the candidate taking its share).</summary>
    public sealed record Served(string Name, ManagedPipeline Pipeline, ModelEntry? Primary, ModelDeployments.Snapshot Deployment, ModelEntry? Pinned)
    {
        /// <summary>True when ModelInfer answers with scores: the pipeline has a model stage and a deployed model.</summary>
        public bool Ready => Pipeline.HasModelStage && (Pinned ?? Primary) is not null;

        public string Version => (Pinned ?? Primary)?.Version ?? "";

        /// <summary>The outputs ModelInfer answers with: <see cref="ClassifierOutputs"/> for a classifier.</summary>
        public (string Name, string Datatype)[] Outputs => Classes(Pinned ?? Primary) > 0 ? ClassifierOutputs : InferenceModels.Outputs;

        /// <summary>Classes of the model that answers (0 for regression): the second dimension of the probabilities.</summary>
        public int ClassCount => Classes(Pinned ?? Primary);
    }

    /// <summary>True for a binary classifier with its two class labels.</summary>
    public static bool IsBinary(ModelEntry? entry) => entry is { Task: "binary", Classes.Count: 2 };

    /// <summary>True for a multiclass classifier with its class labels.</summary>
    public static bool IsMulticlass(ModelEntry? entry) => entry is { Task: "multiclass", Classes.Count: > 0 };

    /// <summary>The number of classes of a binary or multiclass classifier; 0 otherwise.</summary>
    public static int Classes(ModelEntry? entry) => IsBinary(entry) || IsMulticlass(entry) ? entry!.Classes.Count : 0;

    public ServerMetadataResponse ServerMetadata() => new() { Name = "streamml", Version = s_version };

    /// <summary>True when every pipeline with a model stage has a model deployed.</summary>
    public bool ServerReady() => pipelines.All.Where(p => p.HasModelStage).All(p => p.Runtime.Models.Current.Primary is not null);

    /// <summary>The served model, or an <see cref="InferenceException"/> (NOT_FOUND) naming what is missing. Messages
    /// never list the pipelines: a score-role key may not learn their names.</summary>
    public Served Resolve(string name, string version)
    {
        if (string.IsNullOrEmpty(name)) throw InferenceException.BadInput("the model name is empty: name a pipeline or a deployed model");
        if (!pipelines.TryGet(name, out var pipeline))
        {
            // A registry model's name: the pipeline that serves it as its primary (a running one first).
            pipeline = pipelines.All
                .Where(p => p.HasModelStage && p.Runtime.Models.Current.Primary?.Name == name)
                .OrderBy(p => p.State == PipelineState.Running ? 0 : 1)
                .FirstOrDefault()
                ?? throw InferenceException.NotFound($"model '{name}' is not served: no pipeline has that name and no pipeline has it deployed");
        }
        var deployment = pipeline.Runtime.Models.Current;
        if (string.IsNullOrEmpty(version)) return new Served(name, pipeline, deployment.Primary, deployment, null);
        // As Score's model_version: a deployed version (primary first), or the variant "primary" / "candidate".
        var pinned = version switch
        {
            ModelSelector.Primary => deployment.Primary,
            ModelSelector.Candidate => deployment.Candidate,
            _ => ModelSelector.Deployed(deployment).Select(d => d.Entry).FirstOrDefault(e => e.Version == version || e.Id == version),
        };
        if (pinned is null)
        {
            var deployed = ModelSelector.Deployed(deployment).Select(d => $"{d.Entry.Id} ({d.Variant})").ToList();
            throw InferenceException.NotFound(deployed.Count == 0
                ? $"model '{name}' has no version '{version}': no model is deployed to it yet"
                : $"model '{name}' has no version '{version}' deployed; deployed: {string.Join(", ", deployed)}");
        }
        return new Served(name, pipeline, deployment.Primary, deployment, pinned);
    }

    /// <summary>False for a model that is not served (ModelReady answers rather than fails).</summary>
    public bool Ready(string name, string version)
    {
        try { return Resolve(name, version).Ready; }
        catch (InferenceException) { return false; }
    }

    public ModelMetadataResponse Metadata(string name, string version)
    {
        var served = Resolve(name, version);
        var response = new ModelMetadataResponse { Name = name, Platform = "streamml" };
        response.Versions.Add(ModelSelector.Deployed(served.Deployment).Select(d => d.Entry.Version).Distinct());
        foreach (var field in served.Pipeline.InputSchema)
            response.Inputs.Add(new ModelMetadataResponse.Types.TensorMetadata { Name = field.Name, Datatype = TensorTypes.Of(field.Type), Shape = { -1 } });
        foreach (var (output, datatype) in served.Outputs)
            response.Outputs.Add(new ModelMetadataResponse.Types.TensorMetadata
            {
                Name = output, Datatype = datatype, Shape = { output == ProbabilitiesOutput ? [-1, served.ClassCount] : [-1] },
            });
        return response;
    }

    /// <summary>Scores the request's tensors through the pipeline's Score chain.</summary>
    public ModelInferResponse Infer(ModelInferRequest request)
    {
        var served = Resolve(request.ModelName, request.ModelVersion);
        var payload = new TensorPayload(request, served);
        served.Pipeline.Score(ref payload, Where(served.Name), served.Pinned);
        return payload.Response;
    }

    // Where errors of a model's ModelInfer calls point, formatted once per served name (only names that resolved
    // reach it: pipelines and deployed models), not for every call.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _where = new(StringComparer.Ordinal);

    private string Where(string name) => _where.GetOrAdd(name, static n => $"ModelInfer '{n}'");
}

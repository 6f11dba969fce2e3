using Grpc.Core;
using Microsoft.Extensions.Logging;
using StreamMl.Host.Hosting;
using StreamMl.Host.Models;
using StreamMl.Host.Pipelines;
using StreamMl.Host.Protos;

namespace StreamMl.Host.Grpc;

/// <summary>The Control service: pipelines and model deployments.</summary>
[BindServiceMethod(typeof(StrictBinding), nameof(StrictBinding.BindControl))]
internal sealed class ControlService(PipelineManager pipelines, ILogger<ControlService> logger) : Control.ControlBase
{
    public override async Task<PipelineInfo> CreatePipeline(CreatePipelineRequest request, ServerCallContext context)
    {
        if (string.IsNullOrWhiteSpace(request.Spec))
            throw ErrorDetails.InvalidField("spec", "spec is empty: send the pipeline spec as YAML or JSON text");
        var pipeline = await pipelines.CreateAsync(request.Spec, request.Start, request.Replace, null, context.CancellationToken);
        return pipeline.Info();
    }

    public override async Task<PipelineInfo> StartPipeline(PipelineRef request, ServerCallContext context) =>
        (await pipelines.StartAsync(request.Name, context.CancellationToken)).Info();

    public override async Task<PipelineInfo> StopPipeline(PipelineRef request, ServerCallContext context) =>
        (await pipelines.StopAsync(request.Name, context.CancellationToken)).Info();

    public override async Task<PipelineInfo> DeletePipeline(PipelineRef request, ServerCallContext context)
    {
        var pipeline = await pipelines.DeleteAsync(request.Name, context.CancellationToken);
        var info = pipeline.Info();
        info.State = "deleted";
        return info;
    }

    public override Task<ListPipelinesResponse> ListPipelines(ListPipelinesRequest request, ServerCallContext context)
    {
        var response = new ListPipelinesResponse();
        response.Pipelines.AddRange(pipelines.All.Select(p => p.Info()));
        return Task.FromResult(response);
    }

    public override Task<PipelineStatus> GetStatus(PipelineRef request, ServerCallContext context) =>
        Task.FromResult(pipelines.Get(request.Name).Status());

    public override Task<ModelDeployment> DeployModel(DeployModelRequest request, ServerCallContext context)
    {
        var pipeline = pipelines.Get(request.Pipeline);
        RequireModelStage(pipeline, "DeployModel");
        if (request.Model is null || string.IsNullOrEmpty(request.Model.Name))
            throw ErrorDetails.InvalidField("model.name", "model.name is required");
        if (request.CandidateTraffic is < 0 or > 1 || double.IsNaN(request.CandidateTraffic))
            throw ErrorDetails.InvalidField("candidate_traffic", $"candidate_traffic must be between 0 and 1, got {request.CandidateTraffic}");
        var entry = RegistryModels.RequireDeployable(pipelines.Catalog.Require(request.Model.Name, request.Model.Version), "deployed");
        CheckInputs(pipeline, entry);
        pipeline.Runtime.Models.Deploy(entry, request.CandidateTraffic);
        pipelines.NotifyChanged();
        Log.ModelDeployed(logger, entry.Id, pipeline.Name, request.CandidateTraffic is > 0 and < 1 ? "candidate" : "primary");
        return Task.FromResult(pipeline.Runtime.Models.ToProto());
    }

    public override Task<ModelDeployment> PromoteModel(PipelineRef request, ServerCallContext context)
    {
        var models = RequireModelStage(pipelines.Get(request.Name), "PromoteModel").Runtime.Models;
        models.Promote();
        pipelines.NotifyChanged();
        return Task.FromResult(models.ToProto());
    }

    public override Task<ModelDeployment> RollbackModel(PipelineRef request, ServerCallContext context)
    {
        var models = RequireModelStage(pipelines.Get(request.Name), "RollbackModel").Runtime.Models;
        models.Rollback();
        pipelines.NotifyChanged();
        return Task.FromResult(models.ToProto());
    }

    public override Task<ModelDeployment> SetTrafficSplit(TrafficSplitRequest request, ServerCallContext context)
    {
        var models = RequireModelStage(pipelines.Get(request.Pipeline), "SetTrafficSplit").Runtime.Models;
        if (request.CandidateTraffic is < 0 or > 1 || double.IsNaN(request.CandidateTraffic))
            throw ErrorDetails.InvalidField("candidate_traffic", $"candidate_traffic must be between 0 and 1, got {request.CandidateTraffic}");
        models.SetTraffic(request.CandidateTraffic);
        pipelines.NotifyChanged();
        return Task.FromResult(models.ToProto());
    }

    public override Task<ModelDeployment> SetShadowModels(ShadowModelsRequest request, ServerCallContext context)
    {
        var pipeline = RequireModelStage(pipelines.Get(request.Pipeline), "SetShadowModels");
        var entries = request.Shadows.Select(s => RegistryModels.RequireDeployable(pipelines.Catalog.Require(s.Name, s.Version), "deployed")).ToArray();
        foreach (var entry in entries) CheckInputs(pipeline, entry);
        pipeline.Runtime.Models.SetShadows(entries);
        pipelines.NotifyChanged();
        return Task.FromResult(pipeline.Runtime.Models.ToProto());
    }

    public override Task<RolloutStatus> StartRollout(StartRolloutRequest request, ServerCallContext context)
    {
        var pipeline = RequireModelStage(pipelines.Get(request.Pipeline), "StartRollout");
        if (request.Candidate is null || string.IsNullOrEmpty(request.Candidate.Name))
            throw ErrorDetails.InvalidField("candidate.name", "candidate.name is required: the model version to roll out");
        if (pipeline.Runtime.Models.Rollout is { Rollout.IsFinished: false } running)
            throw new RpcException(new Status(StatusCode.FailedPrecondition,
                $"StartRollout: pipeline '{pipeline.Name}' is already rolling out {running.Candidate.Id}; cancel it first (CancelRollout, or streamml rollout cancel)"));
        var entry = pipelines.Catalog.Require(request.Candidate.Name, request.Candidate.Version);
        CheckInputs(pipeline, entry);
        Operators.Rollouts.RolloutOptions options;
        try
        {
            options = RolloutSettings.FromRequest(request, entry);
            options.Validate();
        }
        catch (Operators.Rollouts.RolloutException e)
        {
            throw ErrorDetails.InvalidField("StartRolloutRequest", e.Message);
        }
        ModelRollout rollout;
        try
        {
            rollout = ModelRollout.Begin(pipeline.Name, pipeline.Runtime.Models, entry, options, Registry.RegistryRollouts.ReplicaName, logger: logger)!;
        }
        catch (Operators.Rollouts.RolloutException e)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, "StartRollout: " + e.Message));
        }
        pipelines.NotifyChanged();
        return Task.FromResult(rollout.ToProto());
    }

    public override Task<RolloutStatus> GetRollout(PipelineRef request, ServerCallContext context) =>
        Task.FromResult(RequireRollout(request.Name, "GetRollout").ToProto());

    public override Task<RolloutStatus> CancelRollout(PipelineRef request, ServerCallContext context)
    {
        var rollout = RequireRollout(request.Name, "CancelRollout");
        rollout.Rollout.Cancel("cancelled through CancelRollout");
        pipelines.NotifyChanged();
        return Task.FromResult(rollout.ToProto());
    }

    private ModelRollout RequireRollout(string pipeline, string rpc) =>
        pipelines.Get(pipeline).Runtime.Models.Rollout
        ?? throw new RpcException(new Status(StatusCode.NotFound, $"{rpc}: pipeline '{pipeline}' has had no rollout; start one with StartRollout (streamml rollout start)"));

    /// <summary>Only a pipeline whose spec has a model section scores rows: a deployment anywhere else would answer OK and
    /// score nothing. The stage cannot be added to a built pipeline (its schema and every later stage are bound to the
    /// stages before), so the spec has to say it.</summary>
    private static ManagedPipeline RequireModelStage(ManagedPipeline pipeline, string rpc)
    {
        if (!pipeline.HasModelStage)
            throw new RpcException(new Status(StatusCode.FailedPrecondition,
                $"{rpc}: pipeline '{pipeline.Name}' has no model stage, so a deployed model would score nothing; add a 'model' section " +
                "to its spec (e.g. model: { name: <model>, version: \"1\" }) and create it again with replace"));
        return pipeline;
    }

    /// <summary>A model whose inputs the pipeline does not produce would fail on the next batch; refuse it now.</summary>
    private static void CheckInputs(ManagedPipeline pipeline, ModelEntry entry)
    {
        var missing = entry.Inputs.Where(i => !pipeline.OutputSchema.Contains(i)).ToList();
        if (missing.Count > 0)
            throw new RpcException(new Status(StatusCode.FailedPrecondition,
                $"model {entry.Id} needs input(s) {string.Join(", ", missing)} that pipeline '{pipeline.Name}' does not produce; its columns are: {pipeline.OutputSchema}"));
    }
}

using System.Globalization;
using Grpc.Core;
using StreamMl.Host.Pipelines;
using StreamMl.Host.Protos;

namespace StreamMl.Host.Grpc;

/// <summary>The Query service: drift, metrics, dead letters, models.</summary>
[BindServiceMethod(typeof(StrictBinding), nameof(StrictBinding.BindQuery))]
internal sealed class QueryService(PipelineManager pipelines) : Query.QueryBase
{
    public override Task<DriftReport> GetDriftReport(DriftReportRequest request, ServerCallContext context)
    {
        var pipeline = pipelines.Get(request.Pipeline);
        if (pipeline.Runtime.Drift is not { } drift)
            throw new RpcException(new Status(StatusCode.FailedPrecondition,
                $"pipeline '{pipeline.Name}' does not watch drift: add a 'drift' section with the features to watch to its spec"));
        return Task.FromResult(drift.Report(pipeline.Name, request.MaxWindows));
    }

    public override Task<MetricsReport> GetMetrics(MetricsRequest request, ServerCallContext context)
    {
        var pipeline = pipelines.Get(request.Pipeline);
        // Downstream counters first: the source counts a batch before the model stage can see it, so read in this order
        // a report never has more labelled rows than rows read (MetricsConsistencyTests); read the other way round, a
        // batch passing between the two reads showed up as 605 labelled rows beside 0 read.
        var model = pipeline.Runtime.Models.Metrics();
        var status = pipeline.Status();
        var report = new MetricsReport
        {
            Pipeline = pipeline.Name,
            Rows = status.Stages.Count > 0 ? status.Stages[0].RowsOut : 0,
            RowsPerSecond = status.RowsPerSecond,
            ScoreLatency = pipeline.ScoreLatency.Snapshot(),
            BatchLatency = BatchLatency(status),
            Errors = status.Stages.Sum(s => s.Errors),
            DeadLetters = pipeline.Runtime.DeadLetters.Count,
            Model = model,
        };
        report.Stages.AddRange(status.Stages);
        if (pipeline.Runtime.Recommend is { } recommend) Recommendations.RecommendAnswers.AddMetrics(recommend, report);
        return Task.FromResult(report);
    }

    /// <summary>Mean per-batch time through the operators (the engine counts busy time per stage, not per batch).</summary>
    private static LatencyPercentiles BatchLatency(PipelineStatus status)
    {
        var operators = status.Stages.Where(s => s.Kind == "operator").ToList();
        var batches = operators.Count == 0 ? 0 : operators.Max(s => s.Batches);
        if (batches == 0) return new LatencyPercentiles();
        var meanUs = operators.Sum(s => s.BusyMs) * 1000 / batches;
        return new LatencyPercentiles { P50Us = meanUs, P90Us = meanUs, P99Us = meanUs, MaxUs = meanUs, Count = batches };
    }

    public override Task<DeadLettersPage> ListDeadLetters(DeadLettersRequest request, ServerCallContext context)
    {
        var pipeline = pipelines.Get(request.Pipeline);
        var size = request.PageSize == 0 ? 50 : request.PageSize;
        if (size is < 1 or > 1000)
            throw ErrorDetails.InvalidField("page_size", $"page_size must be between 1 and 1000, got {request.PageSize}");
        var skip = 0;
        if (request.PageToken.Length > 0 && (!int.TryParse(request.PageToken, NumberStyles.None, CultureInfo.InvariantCulture, out skip) || skip < 0))
            throw ErrorDetails.InvalidField("page_token", $"page_token {Hosting.SafeText.Quote(request.PageToken)} is not one this server issued");
        var letters = pipeline.Runtime.DeadLetters.Snapshot();
        var page = new DeadLettersPage { Total = pipeline.Runtime.DeadLetters.Count };
        page.Letters.AddRange(letters.Skip(skip).Take(size).Select(l => new Protos.DeadLetter
        {
            Stage = l.Stage,
            Rule = l.Rule,
            Message = l.Message,
            Location = l.Location,
            Partition = l.Partition,
            Offset = l.Offset,
            Raw = l.Raw,
        }));
        // In long: a token near int.MaxValue plus the page size must not wrap to a negative token.
        var next = (long)skip + size;
        page.NextPageToken = next < letters.Count ? next.ToString(CultureInfo.InvariantCulture) : "";
        return Task.FromResult(page);
    }

    public override Task<MonitoringReportResponse> GetMonitoringReport(MonitoringReportRequest request, ServerCallContext context)
    {
        var report = Reporting.PipelineReport.Build(pipelines.Get(request.Pipeline));
        return Task.FromResult(new MonitoringReportResponse
        {
            Pipeline = report.Pipeline,
            Status = report.Status,
            Json = report.ToJson(),
            Html = Operators.Reporting.ReportHtml.Render(report),
            Alerts = report.AlertsRaised,
        });
    }

    public override Task<ListModelsResponse> ListModels(ListModelsRequest request, ServerCallContext context)
    {
        var response = new ListModelsResponse();
        foreach (var entry in pipelines.Catalog.All())
        {
            if (request.Name.Length > 0 && entry.Name != request.Name) continue;
            var version = new ModelVersion { Name = entry.Name, Version = entry.Version, Kind = entry.Kind };
            version.Inputs.AddRange(entry.Inputs);
            foreach (var (k, v) in entry.Metrics) version.Metrics[k] = v;
            foreach (var (k, v) in entry.Lineage) version.Lineage[k] = v;
            AddRegistryHistory(version, entry);
            foreach (var pipeline in pipelines.All)
            {
                var d = pipeline.Runtime.Models.Current;
                if (ReferenceEquals(d.Primary, entry) || d.Primary?.Id == entry.Id) version.Deployments.Add($"{pipeline.Name}:primary");
                if (d.Candidate?.Id == entry.Id) version.Deployments.Add($"{pipeline.Name}:candidate");
                if (d.Shadows.Any(s => s.Id == entry.Id)) version.Deployments.Add($"{pipeline.Name}:shadow");
            }
            response.Models.Add(version);
        }
        return Task.FromResult(response);
    }

    /// <summary>A registry version's stage now (stages.json, not the stage when the catalog entry was made) and the
    /// events of its history: promotions, rollbacks, retirement, rollout steps, retraining.</summary>
    private static void AddRegistryHistory(ModelVersion version, Models.ModelEntry entry)
    {
        if (!entry.Lineage.TryGetValue("registry", out var root)
            || !int.TryParse(entry.Version, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var v)) return;
        var book = new Registry.ModelRegistry(root).Stages(entry.Name);
        version.Stage = book.StageOf(v).ToString().ToLowerInvariant();
        foreach (var e in book.History.Where(e => e.Version == v))
            version.History.Add(new ModelEvent { At = e.AtUtc.ToString("O", System.Globalization.CultureInfo.InvariantCulture), Action = e.Action, Reason = e.Reason ?? "" });
    }
}

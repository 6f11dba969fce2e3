using Prometheus;
using StreamMl.Host.Pipelines;

namespace StreamMl.Host.Recommendations;

/// <summary>Per-variant recommendation metrics in Prometheus format, read from each pipeline's server at scrape time.</summary>
internal sealed class RecommendPrometheus
{
    private readonly Counter _requests;
    private readonly Counter _fallbacks;
    private readonly Gauge _ctr;
    private readonly Gauge _hitRate;
    private readonly Gauge _coverage;
    private readonly Gauge _latency;
    private readonly Gauge _pValue;

    public RecommendPrometheus(MetricFactory f)
    {
        string[] variant = ["pipeline", "variant", "model"];
        _requests = f.CreateCounter("streamml_recommend_requests_total", "Recommendations served (impressions).", variant);
        _fallbacks = f.CreateCounter("streamml_recommend_fallbacks_total", "Recommendations answered by the popularity fallback.", variant);
        _ctr = f.CreateGauge("streamml_recommend_click_through_rate", "Impressions followed by an interaction with a served item.", variant);
        _hitRate = f.CreateGauge("streamml_recommend_hit_rate", "Resolved impressions whose next interaction was a served item.", variant);
        _coverage = f.CreateGauge("streamml_recommend_coverage", "Distinct items recommended over the items the model knows.", variant);
        _latency = f.CreateGauge("streamml_recommend_latency_microseconds", "Recommend latency inside the host.", "pipeline", "variant", "model", "quantile");
        _pValue = f.CreateGauge("streamml_recommend_ctr_p_value", "Two-proportion z-test p-value of the variant's CTR against the first variant's.", "pipeline", "variant");
    }

    public void Collect(ManagedPipeline pipeline)
    {
        if (pipeline.Runtime.Recommend is not { } state) return;
        var metrics = state.Server.Metrics();
        for (var i = 0; i < metrics.Count; i++)
        {
            var m = metrics[i];
            string[] labels = [pipeline.Name, m.Variant, m.Model];
            _requests.WithLabels(labels).IncTo(m.Requests);
            _fallbacks.WithLabels(labels).IncTo(m.Fallbacks);
            if (m.Requests > 0) _ctr.WithLabels(labels).Set(m.ClickThroughRate);
            if (m.Resolved > 0) _hitRate.WithLabels(labels).Set(m.HitRate);
            _coverage.WithLabels(labels).Set(m.Coverage);
            if (m.Requests == 0) continue;
            _latency.WithLabels(pipeline.Name, m.Variant, m.Model, "0.5").Set(m.LatencyP50Us);
            _latency.WithLabels(pipeline.Name, m.Variant, m.Model, "0.9").Set(m.LatencyP90Us);
            _latency.WithLabels(pipeline.Name, m.Variant, m.Model, "0.99").Set(m.LatencyP99Us);
            if (i > 0) _pValue.WithLabels(pipeline.Name, m.Variant).Set(state.Server.CompareClickThrough(0, i).PValue);
        }
    }
}

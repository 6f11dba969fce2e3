using Prometheus;
using StreamMl.Host.Pipelines;

namespace StreamMl.Host.Recommendations;

/// <summary>Per-variant recommendation metrics in Prometheus format, read from each pipeline's server at scrape time.
/// The names are stable (RecommendMetricsTests lists them); counts continue across restarts from the checkpoint.</summary>
internal sealed class RecommendPrometheus
{
    private readonly Counter _requests;
    private readonly Counter _fallbacks;
    private readonly Counter _clicks;
    private readonly Counter _resolved;
    private readonly Counter _hits;
    private readonly Gauge _users;
    private readonly Gauge _ctr;
    private readonly Gauge _ctrInterval;
    private readonly Gauge _hitRate;
    private readonly Gauge _hitRateInterval;
    private readonly Gauge _coverage;
    private readonly Gauge _latency;
    private readonly Gauge _pValue;
    private readonly Gauge _ctrZ;
    private readonly Gauge _hitRateZ;
    private readonly Gauge _hitRatePValue;

    public RecommendPrometheus(MetricFactory f)
    {
        string[] variant = ["pipeline", "variant", "model"];
        string[] interval = ["pipeline", "variant", "model", "bound"];
        string[] test = ["pipeline", "variant", "baseline"];
        _requests = f.CreateCounter("streamml_recommend_requests_total", "Recommendations served (impressions).", variant);
        _fallbacks = f.CreateCounter("streamml_recommend_fallbacks_total", "Recommendations answered by the popularity fallback.", variant);
        _clicks = f.CreateCounter("streamml_recommend_clicks_total", "Impressions followed within the horizon by an interaction with a served item.", variant);
        _resolved = f.CreateCounter("streamml_recommend_resolved_total", "Impressions followed within the horizon by a next interaction.", variant);
        _hits = f.CreateCounter("streamml_recommend_hits_total", "Resolved impressions whose next interaction was a served item.", variant);
        _users = f.CreateGauge("streamml_recommend_users", "Different users the variant has served.", variant);
        _ctr = f.CreateGauge("streamml_recommend_click_through_rate", "Impressions followed by an interaction with a served item.", variant);
        _ctrInterval = f.CreateGauge("streamml_recommend_click_through_rate_interval", "95 % Wilson score interval of the click-through rate (bound low or high).", interval);
        _hitRate = f.CreateGauge("streamml_recommend_hit_rate", "Resolved impressions whose next interaction was a served item.", variant);
        _hitRateInterval = f.CreateGauge("streamml_recommend_hit_rate_interval", "95 % Wilson score interval of the hit rate (bound low or high).", interval);
        _coverage = f.CreateGauge("streamml_recommend_coverage", "Distinct items recommended over the items the model knows.", variant);
        _latency = f.CreateGauge("streamml_recommend_latency_microseconds", "Recommend latency inside the host.", "pipeline", "variant", "model", "quantile");
        _pValue = f.CreateGauge("streamml_recommend_ctr_p_value", "Two-proportion z-test p-value of the variant's CTR against the first variant's.", "pipeline", "variant");
        _ctrZ = f.CreateGauge("streamml_recommend_ctr_z", "Two-proportion z statistic of the variant's CTR minus the baseline's.", test);
        _hitRateZ = f.CreateGauge("streamml_recommend_hit_rate_z", "Two-proportion z statistic of the variant's hit rate minus the baseline's.", test);
        _hitRatePValue = f.CreateGauge("streamml_recommend_hit_rate_p_value", "Two-sided p-value of the hit-rate z-test against the baseline.", test);
    }

    public void Collect(ManagedPipeline pipeline)
    {
        if (pipeline.Runtime.Recommend is not { } state) return;
        var metrics = state.Server.Metrics();
        var summary = state.Server.Summarize();
        for (var i = 0; i < metrics.Count; i++)
        {
            var m = metrics[i];
            var s = summary.Variants[i];
            string[] labels = [pipeline.Name, m.Variant, m.Model];
            _requests.WithLabels(labels).IncTo(m.Requests);
            _fallbacks.WithLabels(labels).IncTo(m.Fallbacks);
            _clicks.WithLabels(labels).IncTo(m.Clicked);
            _resolved.WithLabels(labels).IncTo(m.Resolved);
            _hits.WithLabels(labels).IncTo(m.Hits);
            _users.WithLabels(labels).Set(m.Users);
            if (m.Requests > 0)
            {
                _ctr.WithLabels(labels).Set(m.ClickThroughRate);
                _ctrInterval.WithLabels(pipeline.Name, m.Variant, m.Model, "low").Set(s.ClickThrough.Low);
                _ctrInterval.WithLabels(pipeline.Name, m.Variant, m.Model, "high").Set(s.ClickThrough.High);
            }
            if (m.Resolved > 0)
            {
                _hitRate.WithLabels(labels).Set(m.HitRate);
                _hitRateInterval.WithLabels(pipeline.Name, m.Variant, m.Model, "low").Set(s.HitRate.Low);
                _hitRateInterval.WithLabels(pipeline.Name, m.Variant, m.Model, "high").Set(s.HitRate.High);
            }
            _coverage.WithLabels(labels).Set(m.Coverage);
            if (i > 0)
            {
                _ctrZ.WithLabels(pipeline.Name, m.Variant, summary.Baseline).Set(s.ClickThrough.Z);
                _hitRateZ.WithLabels(pipeline.Name, m.Variant, summary.Baseline).Set(s.HitRate.Z);
                _hitRatePValue.WithLabels(pipeline.Name, m.Variant, summary.Baseline).Set(s.HitRate.PValue);
            }
            if (m.Requests == 0) continue;
            _latency.WithLabels(pipeline.Name, m.Variant, m.Model, "0.5").Set(m.LatencyP50Us);
            _latency.WithLabels(pipeline.Name, m.Variant, m.Model, "0.9").Set(m.LatencyP90Us);
            _latency.WithLabels(pipeline.Name, m.Variant, m.Model, "0.99").Set(m.LatencyP99Us);
            if (i > 0) _pValue.WithLabels(pipeline.Name, m.Variant).Set(s.ClickThrough.PValue);
        }
    }
}

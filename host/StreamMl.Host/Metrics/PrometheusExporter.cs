using Prometheus;
using StreamMl.Host.Pipelines;

namespace StreamMl.Host.Metrics;

/// <summary>Pipeline, stage, model and drift metrics in Prometheus format. Values are read from the pipelines when
/// Prometheus scrapes (a before-collect callback), so the hot path only updates its own plain counters.</summary>
internal sealed class PrometheusExporter
{
    private readonly PipelineManager _pipelines;
    private readonly Counter _stageRowsIn;
    private readonly Counter _stageRowsOut;
    private readonly Counter _stageRejected;
    private readonly Counter _stageErrors;
    private readonly Counter _stageBusy;
    private readonly Counter _backpressure;
    private readonly Gauge _state;
    private readonly Gauge _inFlight;
    private readonly Gauge _lag;
    private readonly Counter _deadLetters;
    private readonly Gauge _scoreLatency;
    private readonly Gauge _accuracy;
    private readonly Gauge _logLoss;
    private readonly Counter _labelled;
    private readonly Gauge _shadowAgreement;
    private readonly Gauge _psi;
    private readonly Gauge _meanShift;
    private readonly Gauge _driftStatus;
    private readonly Counter _alerts;
    private readonly Counter _alertRows;
    private readonly Counter _alertsSuppressed;
    private readonly Counter _alertsDropped;
    private readonly Recommendations.RecommendPrometheus _recommend;
    private readonly Gauge _rolloutWeight;
    private readonly Gauge _rolloutPhase;
    private readonly Counter _rolloutTransitions;

    public PrometheusExporter(PipelineManager pipelines)
    {
        _pipelines = pipelines;
        Registry = Prometheus.Metrics.NewCustomRegistry();
        var f = Prometheus.Metrics.WithCustomRegistry(Registry);
        string[] stage = ["pipeline", "stage", "kind"];
        _stageRowsIn = f.CreateCounter("streamml_stage_rows_in_total", "Selected rows a stage received.", stage);
        _stageRowsOut = f.CreateCounter("streamml_stage_rows_out_total", "Rows a stage passed on (source: produced, sink: written).", stage);
        _stageRejected = f.CreateCounter("streamml_stage_rows_rejected_total", "Rows a stage sent to the dead-letter sink.", stage);
        _stageErrors = f.CreateCounter("streamml_stage_errors_total", "Batches on which a stage threw.", stage);
        _stageBusy = f.CreateCounter("streamml_stage_busy_seconds_total", "Time a stage spent working.", stage);
        _backpressure = f.CreateCounter("streamml_source_backpressure_seconds_total", "Time the source waited for ring capacity.", "pipeline");
        _state = f.CreateGauge("streamml_pipeline_state", "1 for the pipeline's current state.", "pipeline", "state");
        _inFlight = f.CreateGauge("streamml_pipeline_in_flight_batches", "Batches in the ring not finished by the slowest stage.", "pipeline");
        _lag = f.CreateGauge("streamml_pipeline_ingest_lag_rows", "Rows accepted by Ingest and not yet read by the pipeline.", "pipeline");
        _deadLetters = f.CreateCounter("streamml_pipeline_dead_letters_total", "Rows rejected to the dead-letter sink.", "pipeline");
        _scoreLatency = f.CreateGauge("streamml_score_latency_microseconds", "Score RPC latency inside the host (HdrHistogram).", "pipeline", "quantile");
        _accuracy = f.CreateGauge("streamml_model_accuracy", "Share of labelled rows the deployed model got right.", "pipeline");
        _logLoss = f.CreateGauge("streamml_model_log_loss", "Mean log loss over labelled rows.", "pipeline");
        _labelled = f.CreateCounter("streamml_model_labelled_rows_total", "Rows scored that carried a label.", "pipeline");
        _shadowAgreement = f.CreateGauge("streamml_model_shadow_agreement", "Share of rows where shadow models agree with the primary.", "pipeline");
        _psi = f.CreateGauge("streamml_drift_psi", "Population stability index of the latest window.", "pipeline", "feature");
        _meanShift = f.CreateGauge("streamml_drift_mean_shift", "Mean shift of the latest window in reference standard deviations.", "pipeline", "feature");
        _driftStatus = f.CreateGauge("streamml_drift_status", "0 ok, 1 warning, 2 drift, for the latest window.", "pipeline", "feature");
        _alerts = f.CreateCounter("streamml_drift_alerts_total", "Drift alerts raised.", "pipeline");
        _alertRows = f.CreateCounter("streamml_alerts_total", "Alerts raised by monitors and drift windows (after the cooldown).", "pipeline");
        _alertsSuppressed = f.CreateCounter("streamml_alerts_suppressed_total", "Detections a cooldown kept from becoming alerts.", "pipeline");
        _alertsDropped = f.CreateCounter("streamml_alerts_dropped_total", "Alert rows lost because the alert sinks were too far behind.", "pipeline");
        _recommend = new Recommendations.RecommendPrometheus(f);
        _rolloutWeight = f.CreateGauge("streamml_rollout_candidate_share", "Share of rows the rollout's candidate answers (1 once promoted, 0 in shadow or after a roll back).", "pipeline", "candidate");
        _rolloutPhase = f.CreateGauge("streamml_rollout_phase", "1 for the rollout's current phase (shadow, canary, promoted, rolled-back, cancelled).", "pipeline", "candidate", "phase");
        _rolloutTransitions = f.CreateCounter("streamml_rollout_transitions_total", "Rollout transitions by action.", "pipeline", "candidate", "action");
        Registry.AddBeforeCollectCallback(Collect);
    }

    public CollectorRegistry Registry { get; }

    private void Collect()
    {
        foreach (var pipeline in _pipelines.All)
        {
            var name = pipeline.Name;
            _recommend.Collect(pipeline);
            foreach (var state in Enum.GetValues<PipelineState>())
                _state.WithLabels(name, state.ToString().ToLowerInvariant()).Set(pipeline.State == state ? 1 : 0);
            if (pipeline.Current is { } run)
            {
                foreach (var s in run.Stages)
                {
                    string[] labels = [name, s.Name, s.Kind.ToString().ToLowerInvariant()];
                    _stageRowsIn.WithLabels(labels).IncTo(s.RowsIn);
                    _stageRowsOut.WithLabels(labels).IncTo(s.RowsOut);
                    _stageRejected.WithLabels(labels).IncTo(s.RowsRejected);
                    _stageErrors.WithLabels(labels).IncTo(s.Errors);
                    _stageBusy.WithLabels(labels).IncTo(s.Busy.TotalSeconds);
                }
                _backpressure.WithLabels(name).IncTo(run.Stages[0].Waiting.TotalSeconds);
                _inFlight.WithLabels(name).Set(run.InFlight);
            }
            _lag.WithLabels(name).Set(pipeline.Runtime.Ingest?.Lag ?? 0);
            _deadLetters.WithLabels(name).IncTo(pipeline.Runtime.DeadLetters.Count);
            var latency = pipeline.ScoreLatency.Snapshot();
            if (latency.Count > 0)
            {
                _scoreLatency.WithLabels(name, "0.5").Set(latency.P50Us);
                _scoreLatency.WithLabels(name, "0.9").Set(latency.P90Us);
                _scoreLatency.WithLabels(name, "0.99").Set(latency.P99Us);
            }
            var model = pipeline.Runtime.Models.Metrics();
            if (model.LabelledRows > 0)
            {
                _accuracy.WithLabels(name).Set(model.Accuracy);
                _logLoss.WithLabels(name).Set(model.LogLoss);
                _labelled.WithLabels(name).IncTo(model.LabelledRows);
            }
            if (model.ShadowRows > 0) _shadowAgreement.WithLabels(name).Set(model.ShadowAgreement);
            if (pipeline.Runtime.Models.Rollout is { } rollout) CollectRollout(name, rollout);
            var alerts = pipeline.Runtime.Alerts;
            _alertRows.WithLabels(name).IncTo(alerts.Published);
            _alertsSuppressed.WithLabels(name).IncTo(alerts.Suppressed);
            _alertsDropped.WithLabels(name).IncTo(alerts.Dropped);
            if (pipeline.Runtime.Drift is { } drift)
            {
                var report = drift.Report(name, 1);
                foreach (var feature in report.Features)
                {
                    _psi.WithLabels(name, feature.Feature).Set(feature.Psi);
                    _meanShift.WithLabels(name, feature.Feature).Set(feature.MeanShift);
                    _driftStatus.WithLabels(name, feature.Feature).Set(feature.Status switch { "drift" => 2, "warning" => 1, _ => 0 });
                }
                _alerts.WithLabels(name).IncTo(report.Alerts);
            }
        }
    }

    private void CollectRollout(string pipeline, Models.ModelRollout rollout)
    {
        var candidate = rollout.Candidate.Id;
        var history = rollout.History;
        var current = history[^1];
        _rolloutWeight.WithLabels(pipeline, candidate).Set(current.Weight);
        foreach (var phase in (string[])["shadow", "canary", "promoted", "rolled-back", "cancelled"])
            _rolloutPhase.WithLabels(pipeline, candidate, phase).Set(current.Action == phase ? 1 : 0);
        foreach (var group in history.GroupBy(t => t.Action))
            _rolloutTransitions.WithLabels(pipeline, candidate, group.Key).IncTo(group.Count());
    }
}

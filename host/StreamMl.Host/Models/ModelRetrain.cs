using System.Globalization;
using Microsoft.Extensions.Logging;
using StreamMl.Host.Registry;
using StreamMl.Host.Training;
using StreamMl.Operators.Retraining;
using StreamMl.Operators.Rollouts;

namespace StreamMl.Host.Models;

/// <summary>Wires an operators <see cref="RetrainLoop"/> to a pipeline's registry model: trains the production version's
/// recipe on the window (plus an optional reference file) with <see cref="TrainingRunner"/>, registers a challenger that
/// won with its lineage, rolls it out with a <see cref="ModelRollout"/> (whose transitions go to the registry history as
/// before) and writes every retrain step to the model's registry history (the champion's version until the challenger
/// is registered, the challenger's after). The host composes; the decisions are the loop's.</summary>
internal sealed class ModelRetrain : IRetrainHost, IDisposable
{
    private readonly string _pipeline;
    private readonly ModelDeployments _deployments;
    private readonly ModelCatalog _catalog;
    private readonly ModelRegistry _registry;
    private readonly string _model;
    private readonly string _label;
    private readonly string? _referencePath;
    private readonly TimeProvider _clock;
    private readonly ILogger? _logger;
    private readonly CancellationTokenSource _ticks = new();
    private readonly Func<IReadOnlyCollection<string>?>? _drifted;
    private bool _tick;
    private int _started;

    public ModelRetrain(string pipeline, ModelDeployments deployments, ModelCatalog catalog, ModelEntry champion, RetrainOptions options,
        string label, string? referencePath, TimeProvider? clock = null, Func<IReadOnlyCollection<string>?>? drifted = null, ILogger? logger = null)
    {
        if (!champion.Lineage.TryGetValue("registry", out var root))
            throw new RetrainException($"model {champion.Id} is not from a registry: only registry models can be retrained (their training spec is kept there)");
        _pipeline = pipeline;
        _deployments = deployments;
        _catalog = catalog;
        _registry = new ModelRegistry(root);
        _model = champion.Name;
        _label = label;
        _referencePath = referencePath;
        _clock = clock ?? TimeProvider.System;
        _logger = logger;
        _drifted = options.On.DriftFeatures is null ? null : drifted;
        Window = new RetrainWindow(champion.Inputs, options.WindowRows);
        Loop = new RetrainLoop(options, Window, this, () => _deployments.Current.Primary?.Id ?? champion.Id, _clock);
    }

    /// <summary>The loop.</summary>
    public RetrainLoop Loop { get; }

    /// <summary>The recent labelled rows.</summary>
    public RetrainWindow Window { get; }

    /// <summary>An operator that feeds <see cref="Window"/>; put it after the model stage (it reads the score column).</summary>
    public RetrainWindowOperator CreateWindowOperator(string scoreColumn) => new(Window, _label, scoreColumn);

    /// <summary>How often the loop is ticked.</summary>
    public static readonly TimeSpan TickInterval = TimeSpan.FromSeconds(1);

    /// <summary>Starts ticking the loop (and the rollouts it starts) every <see cref="TickInterval"/>; a test that drives a
    /// manual clock passes false and calls <see cref="Tick"/>. Starting twice does nothing.</summary>
    public ModelRetrain Start(bool tick = true)
    {
        if (Interlocked.Exchange(ref _started, 1) == 1) return this;
        _tick = tick;
        if (tick) _ = Task.Run(() => RunAsync(_ticks.Token));
        return this;
    }

    /// <summary>Ticks the current rollout (when this loop does not leave it to its own timer), reports the drift stage's
    /// features in drift, and ticks the loop.</summary>
    public void Tick()
    {
        if (!_tick) Loop.Rollout?.Tick();
        if (_drifted?.Invoke() is { } features) Loop.Trigger.ReportDrift(features);
        Loop.Tick();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TickInterval, _clock);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false)) Tick();
        }
        catch (OperationCanceledException) { }
    }

    public Task<RetrainCandidate> TrainAsync(RetrainRequest request, CancellationToken cancellationToken) => TrainCoreAsync(request, cancellationToken);

    private async Task<RetrainCandidate> TrainCoreAsync(RetrainRequest request, CancellationToken cancellationToken)
    {
        var production = _registry.Open(_model, VersionOf(request.Champion));
        var reference = _referencePath is null ? null : (await DataTableReader.ReadAsync(_referencePath, 0, cancellationToken).ConfigureAwait(false)).Table;
        var table = Table(request.Window, production.Manifest.Target, reference);
        return TrainingRunner.Retrain(production, table, request.Window.Rows, request, cancellationToken);
    }

    public string Register(RetrainRequest request, RetrainCandidate candidate)
    {
        var version = _registry.Register(_model, (ModelPackage)candidate.Model!);
        return $"{_model}@{version.Version}";
    }

    public Rollout StartRollout(string candidate, RolloutOptions options)
    {
        var entry = RegistryModels.RequireDeployable(_catalog.Require(_model, VersionOf(candidate).ToString(CultureInfo.InvariantCulture)), "rolled out");
        var withTask = new RolloutOptions
        {
            Steps = options.Steps, MinRows = options.MinRows, MinDuration = options.MinDuration, MaxDuration = options.MaxDuration,
            MinLabels = options.MinLabels, MaxErrorRate = options.MaxErrorRate, MaxLatencyRatio = options.MaxLatencyRatio,
            MaxScorePsi = options.MaxScorePsi, MaxScoreKs = options.MaxScoreKs, MaxMetricDrop = options.MaxMetricDrop,
            Alpha = options.Alpha, ScoreMin = options.ScoreMin, ScoreMax = options.ScoreMax, Task = RolloutSettings.TaskOf(entry),
        };
        return new ModelRollout(_pipeline, _deployments, entry, withTask, _clock, _logger).Start(_tick).Rollout;
    }

    public void Record(RetrainEvent retrainEvent)
    {
        var version = VersionOf(retrainEvent.Candidate ?? retrainEvent.Champion);
        _registry.RecordEvent(_model, retrainEvent.Action, version, retrainEvent.Reason, retrainEvent.At);
        if (_logger is not null) Hosting.Log.RetrainStep(_logger, _pipeline, retrainEvent.Action, retrainEvent.Reason);
    }

    /// <summary>The version of <c>name@version</c>.</summary>
    private int VersionOf(string id)
    {
        var at = id.LastIndexOf('@');
        if (at < 0 || id[..at] != _model || !int.TryParse(id[(at + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var version))
            throw new RetrainException($"'{id}' is not a registry version of model '{_model}'");
        return version;
    }

    /// <summary>The window's rows (features and label), then the reference file's rows of the same columns.</summary>
    private static DataTable Table(Operators.Learners.TrainingSet window, string target, DataTable? reference)
    {
        var names = window.FeatureNames;
        var rows = window.Rows + (reference?.Rows ?? 0);
        var columns = new List<DataColumn>();
        for (var f = 0; f < names.Count; f++)
        {
            var values = new double[rows];
            for (var r = 0; r < window.Rows; r++) values[r] = window.Features[r * names.Count + f];
            if (reference is not null) Copy(reference, names[f], values, window.Rows);
            columns.Add(new DataColumn(names[f], values, null));
        }
        var labels = new double[rows];
        for (var r = 0; r < window.Rows; r++) labels[r] = window.Labels[r];
        if (reference is not null) Copy(reference, target, labels, window.Rows);
        columns.Add(new DataColumn(target, labels, null));
        return new DataTable("retrain window", columns, rows, Enumerable.Range(1, rows).Select(r => (long)r).ToArray());
    }

    private static void Copy(DataTable reference, string name, double[] into, int offset)
    {
        var column = reference.Require(name, "retrain reference column");
        if (!column.IsNumeric) throw new RetrainException($"retrain reference column '{name}' in {reference.Source} is not numeric");
        column.Numbers!.CopyTo(into, offset);
    }

    public void Dispose()
    {
        _ticks.Cancel();
        Loop.Dispose();
    }
}

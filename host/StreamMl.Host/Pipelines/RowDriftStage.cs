using StreamMl.Operators.Drift;
using StreamMl.Operators.Monitoring;

namespace StreamMl.Host.Pipelines;

/// <summary>Composes the drift stage of <c>drift: { reference: rows }</c>: the operators' <see cref="DriftOperator"/>
/// profiles the first <see cref="DriftSettings.ReferenceRows"/> rows (<see cref="DriftOptions.ReferenceRows"/>) and
/// measures each window of <see cref="DriftSettings.WindowRows"/> selected rows against them
/// (<see cref="DriftOptions.WindowRows"/>); each closed window goes to the pipeline's <see cref="DriftState"/>, events
/// and alerts through <see cref="DriftWindows"/>.</summary>
internal static class RowDriftStage
{
    /// <summary>The drift operator of <paramref name="settings"/>, reporting to <paramref name="state"/>.</summary>
    public static DriftOperator Create(DriftSettings settings, DriftState state, EventHub events, string pipeline,
        AlertStream? alerts = null, TimeSpan cooldown = default)
    {
        var windows = new DriftWindows(state, events, pipeline, $"the first {settings.ReferenceRows} rows", alerts, cooldown);
        ReferenceProfile? reference = null;
        return new DriftOperator(new DriftOptions
        {
            Features = settings.Features,
            ReferenceRows = settings.ReferenceRows,
            ReferenceBins = settings.Bins,
            WindowRows = settings.WindowRows,
            Thresholds = settings.Thresholds(),
            ReferenceBuilt = profile =>
            {
                reference = profile;
                state.SetReference(settings.ReferenceRows);
                windows.StartAfter(settings.ReferenceRows);
            },
            WindowClosed = report => windows.OnWindowClosed(report, reference!),
        });
    }
}

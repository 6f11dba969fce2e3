namespace StreamMl.Operators.Monitoring;

/// <summary>Suppresses repeated alerts of one series: after an alert at event time t, further detections of the same
/// slot (key, column) before t + <see cref="Cooldown"/> are counted in <see cref="Suppressed"/> instead of raised.
/// Suppressed detections do not extend the cooldown. Time is event time, so a replay of the same data raises the same
/// alerts. Not thread-safe: one per operator.</summary>
public sealed class AlertCooldown
{
    private long[] _lastAdmitted = [];

    /// <summary>Creates the policy; <paramref name="cooldown"/> zero admits every detection.</summary>
    public AlertCooldown(TimeSpan cooldown)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(cooldown, TimeSpan.Zero);
        Cooldown = cooldown;
        CooldownMicros = cooldown.Ticks / 10;
    }

    /// <summary>The quiet period after an alert.</summary>
    public TimeSpan Cooldown { get; }

    private long CooldownMicros { get; }

    /// <summary>Detections raised as alerts.</summary>
    public long Admitted { get; private set; }

    /// <summary>Detections suppressed by the cooldown.</summary>
    public long Suppressed { get; private set; }

    /// <summary>True when a detection of <paramref name="slot"/> at <paramref name="eventTime"/> (microseconds) is to be
    /// raised; false (and counted) when it falls in the slot's cooldown. A detection older than the slot's last alert
    /// is inside the cooldown too (unless the cooldown is zero).</summary>
    public bool Admit(int slot, long eventTime)
    {
        if (slot >= _lastAdmitted.Length)
        {
            var grown = new long[Math.Max(slot + 1, _lastAdmitted.Length * 2)];
            _lastAdmitted.CopyTo(grown, 0);
            grown.AsSpan(_lastAdmitted.Length).Fill(long.MinValue);
            _lastAdmitted = grown;
        }
        var last = _lastAdmitted[slot];
        if (CooldownMicros > 0 && last != long.MinValue && eventTime - last < CooldownMicros)
        {
            Suppressed++;
            return false;
        }
        _lastAdmitted[slot] = eventTime;
        Admitted++;
        return true;
    }
}

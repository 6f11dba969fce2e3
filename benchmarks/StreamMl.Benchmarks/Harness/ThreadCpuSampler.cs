namespace StreamMl.Benchmarks.Harness;

/// <summary>Samples the CPU time of every thread of this process every few milliseconds while a run lasts and keeps each
/// thread's last reading, so the CPU of threads that exit before the run ends (a pipeline's stage threads) still counts:
/// <see cref="ThreadCpu.Threads"/> read once after the run would miss them. Loses at most one sampling interval per
/// thread.</summary>
public sealed class ThreadCpuSampler : IDisposable
{
    private readonly Dictionary<int, (string Name, double Seconds)> _before;
    private readonly Dictionary<int, (string Name, double Seconds)> _last = [];
    private readonly double? _processBefore;
    private readonly Thread _thread;
    private volatile bool _stop;

    /// <summary>Starts sampling, every <paramref name="interval"/>.</summary>
    public ThreadCpuSampler(TimeSpan interval)
    {
        _before = ThreadCpu.Threads(Environment.ProcessId);
        _processBefore = ThreadCpu.Process(Environment.ProcessId);
        _thread = new Thread(() =>
        {
            while (!_stop)
            {
                Sample();
                Thread.Sleep(interval);
            }
        }) { IsBackground = true, Name = "cpu-sampler" };
        _thread.Start();
    }

    /// <summary>Stops sampling; returns CPU seconds per thread group (threads named by <paramref name="groupOf"/>) and the
    /// whole process's CPU seconds (exited threads included).</summary>
    public (Dictionary<string, double> Groups, double Process) Stop(Func<string, string> groupOf)
    {
        _stop = true;
        _thread.Join();
        Sample();
        var process = ThreadCpu.Process(Environment.ProcessId) - _processBefore ?? 0;
        lock (_last) return (ThreadCpu.Spent(_before, _last, groupOf), process);
    }

    private void Sample()
    {
        var now = ThreadCpu.Threads(Environment.ProcessId);
        lock (_last)
            foreach (var (id, reading) in now) _last[id] = reading;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _stop = true;
        if (_thread.IsAlive) _thread.Join();
    }
}

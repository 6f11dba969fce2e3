namespace StreamMl.Engine.Ring;

/// <summary>The ways a consumer can wait for a sequence.</summary>
public enum WaitStrategyKind
{
    /// <summary>Spin on the sequence: lowest latency, one busy core per waiting consumer.</summary>
    BusySpin,
    /// <summary>Spin a little, then yield the thread: low latency, gives the CPU to ready threads.</summary>
    Yielding,
    /// <summary>Spin, yield, then sleep: low CPU when idle, higher wake-up latency.</summary>
    Sleeping,
    /// <summary>Block on a monitor until signalled: no CPU when idle; producers pay for a signal when someone waits.</summary>
    Blocking,
}

namespace StreamMl.Host.Cli;

/// <summary>Exit codes of <c>streamml</c>, documented in docs/host.md.</summary>
internal static class ExitCodes
{
    /// <summary>Success.</summary>
    public const int Ok = 0;

    /// <summary>The work failed at run time (a pipeline faulted, a demo check failed).</summary>
    public const int Failed = 1;

    /// <summary>The command line was wrong (unknown option, missing argument).</summary>
    public const int Usage = 2;

    /// <summary>A pipeline spec has errors (each printed with line and column).</summary>
    public const int InvalidSpec = 3;

    /// <summary>The host could not be reached (not running, wrong address).</summary>
    public const int Unavailable = 4;

    /// <summary>The host refused the call: missing key or wrong role.</summary>
    public const int Unauthorized = 5;

    /// <summary>A named pipeline, model or file does not exist.</summary>
    public const int NotFound = 6;

    /// <summary>A service or file the command needs is in the wrong state (e.g. no drift section).</summary>
    public const int FailedPrecondition = 7;

    /// <summary>Interrupted with Ctrl+C before finishing.</summary>
    public const int Interrupted = 130;
}

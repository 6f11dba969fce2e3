namespace StreamMl.Engine;

/// <summary>The base of every error StreamMl raises on purpose: the message says what was wrong, where, and what to do.</summary>
public class StreamMlException : Exception
{
    /// <summary>Creates the exception with a message that names what and where.</summary>
    public StreamMlException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    public StreamMlException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>A schema or column did not match what was asked for.</summary>
public sealed class SchemaMismatchException(string message) : StreamMlException(message);

/// <summary>A batch was rented from a <see cref="BatchPool"/> and never returned, or returned twice.</summary>
public sealed class BatchLeakException(string message) : StreamMlException(message);

/// <summary>A pipeline was built or driven the wrong way (no source, started twice, ...).</summary>
public sealed class PipelineException(string message, Exception? inner = null)
    : StreamMlException(message, inner ?? new InvalidOperationException(message));

/// <summary>Input that cannot be read: the message names the file, line or offset, and field.</summary>
public sealed class BadInputException(string message, string location) : StreamMlException($"{location}: {message}")
{
    /// <summary>Where the bad input is: file and line, topic and offset, RPC name.</summary>
    public string Location { get; } = location;

    /// <summary>The row of the bad value within the message or file, when one row is at fault; null otherwise.</summary>
    public long? Row { get; init; }

    /// <summary>The column (field) at fault, when one is; null otherwise.</summary>
    public string? Column { get; init; }
}

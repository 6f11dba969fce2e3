using StreamMl.Engine;

namespace StreamMl.Host.Registry;

/// <summary>A model registry operation was refused: unknown model or version, a corrupt or incomplete version, an
/// invalid package. The message names the model, version and file, and what to do.</summary>
public sealed class RegistryException(string message, Exception? inner = null)
    : StreamMlException(message, inner ?? new InvalidOperationException(message));

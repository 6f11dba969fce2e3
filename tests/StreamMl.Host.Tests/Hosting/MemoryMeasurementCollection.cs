namespace StreamMl.Host.Tests.Hosting;

/// <summary>Tests that measure the engine's count of live native bytes run alone, so other tests' batches do not move it.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MemoryMeasurementCollection
{
    public const string Name = "memory measurement";
}

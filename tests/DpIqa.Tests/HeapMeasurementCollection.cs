namespace DpIqa.Tests;

/// <summary>
/// Tests that measure what a code path allocates on the managed heap run alone, after the parallel tests: the
/// allocation counters also see what other tests allocate meanwhile.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HeapMeasurementCollection
{
    public const string Name = "heap measurements";
}

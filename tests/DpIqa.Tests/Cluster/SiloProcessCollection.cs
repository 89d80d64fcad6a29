namespace DpIqa.Tests.Cluster;

/// <summary>
/// Tests that run several real silo processes and kill some of them run alone, after the parallel tests: on a
/// 2-core CI machine they otherwise compete with a dozen in-process clusters, and Orleans' 30 s call timeout and
/// membership probes then measure the load instead of the behaviour under test.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SiloProcessCollection
{
    public const string Name = "silo processes";
}

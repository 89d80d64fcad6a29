namespace DpIqa;

/// <summary>
/// Which silos score right now (a single grain, key 0, state in memory only): each scoring silo reports itself every
/// few seconds and says when it drains; <c>/scaling</c> reads the count. After a failover the reports refill it.
/// </summary>
[Alias("dpiqa.IScoringSilosGrain")]
[RequiresRole(Role.Reader)]
public interface IScoringSilosGrain : IGrainWithIntegerKey
{
    /// <summary>How often a scoring silo reports itself; a silo not heard from for three periods is not counted.</summary>
    public static readonly TimeSpan ReportPeriod = TimeSpan.FromSeconds(5);

    /// <summary>The silo (its address) scores and takes leases.</summary>
    [RequiresRole(Role.Silo), Alias("Report")] Task Report(string silo);

    /// <summary>The silo stopped taking leases (it is draining or stopping).</summary>
    [RequiresRole(Role.Silo), Alias("Leaving")] Task Leaving(string silo);

    /// <summary>Scoring silos heard from lately and not leaving.</summary>
    [Alias("Count")] Task<int> Count();
}

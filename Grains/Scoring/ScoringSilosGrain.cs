namespace DpIqa.Scoring;

/// <summary>The scoring silos heard from lately (see <see cref="IScoringSilosGrain"/>); in memory, refilled by the reports.</summary>
internal sealed class ScoringSilosGrain : Grain, IScoringSilosGrain
{
    private readonly Dictionary<string, DateTimeOffset> _lastReport = new();

    public Task Report(string silo)
    {
        _lastReport[silo] = DateTimeOffset.UtcNow;
        return Task.CompletedTask;
    }

    public Task Leaving(string silo)
    {
        _lastReport.Remove(silo);
        return Task.CompletedTask;
    }

    public Task<int> Count()
    {
        var since = DateTimeOffset.UtcNow - 3 * IScoringSilosGrain.ReportPeriod;
        foreach (var silo in _lastReport.Where(s => s.Value < since).Select(s => s.Key).ToList()) _lastReport.Remove(silo);
        return Task.FromResult(_lastReport.Count);
    }
}

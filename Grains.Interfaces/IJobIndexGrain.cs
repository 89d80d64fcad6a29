namespace DpIqa;

/// <summary>
/// The job index (a single grain, key <see cref="Key"/>): which jobs exist and which want workers. Not a catalog: that
/// word means the models a cluster serves.
/// </summary>
// The alias and the key keep the names from when this was the "job catalog": the alias identifies the interface on the
// wire (clients and silos of the earlier version still talk to it), the key is part of the grain id its state is stored under.
[Alias("dpiqa.IJobCatalogGrain")]
[RequiresRole(Role.Reader)]
public interface IJobIndexGrain : IGrainWithStringKey
{
    /// <summary>The one index's key (its stored state is found by it: do not change).</summary>
    public const string Key = "catalog";

    /// <summary>Records a new job as active.</summary>
    [RequiresRole(Role.Silo), Alias("Add")] Task Add(string jobId);
    /// <summary>Records that a job no longer needs workers.</summary>
    [RequiresRole(Role.Silo), Alias("MarkEnded")] Task MarkEnded(string jobId);
    /// <summary>Jobs that may have shards to lease.</summary>
    [Alias("ActiveJobs")] Task<IReadOnlyList<string>> ActiveJobs();
    /// <summary>All jobs, active first, newest first.</summary>
    [Alias("AllJobs")] Task<IReadOnlyList<string>> AllJobs();
}

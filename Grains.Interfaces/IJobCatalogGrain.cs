namespace DpIqa;

/// <summary>The job registry (a single grain, key <see cref="Key"/>): which jobs exist and which want workers.</summary>
[Alias("dpiqa.IJobCatalogGrain")]
public interface IJobCatalogGrain : IGrainWithStringKey
{
    /// <summary>The one catalog's key.</summary>
    public const string Key = "catalog";

    /// <summary>Records a new job as active.</summary>
    [Alias("Add")] Task Add(string jobId);
    /// <summary>Records that a job no longer needs workers.</summary>
    [Alias("MarkEnded")] Task MarkEnded(string jobId);
    /// <summary>Jobs that may have shards to lease.</summary>
    [Alias("ActiveJobs")] Task<IReadOnlyList<string>> ActiveJobs();
    /// <summary>All jobs, active first, newest first.</summary>
    [Alias("AllJobs")] Task<IReadOnlyList<string>> AllJobs();
}

namespace DpIqa.Storage;

/// <summary>
/// Configuration section <c>Storage</c>: the Azure Storage account holding blob datasets, results, and (in a
/// cluster) membership and job state. Without it, jobs read and write local folders only.
/// </summary>
public sealed class StorageOptions
{
    public const string Section = "Storage";

    /// <summary>A connection string (Azurite: <c>UseDevelopmentStorage=true</c> or an explicit one).</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Blob service URI used with DefaultAzureCredential when there is no connection string.</summary>
    public string? BlobServiceUri { get; set; }

    /// <summary>Table service URI used with DefaultAzureCredential when there is no connection string.</summary>
    public string? TableServiceUri { get; set; }

    /// <summary>
    /// Folders that jobs on a cluster silo may read <c>file:</c> sources and listing files from and write local
    /// outputs to (environment: <c>Storage__LocalRoots__0=/data</c>, <c>Storage__LocalRoots__1=...</c>). Empty: local
    /// paths are refused on cluster silos. The embedded <c>dpiqa score</c> ignores it and accepts any path.
    /// </summary>
    public List<string> LocalRoots { get; set; } = [];

    public bool Configured => !string.IsNullOrWhiteSpace(ConnectionString) || !string.IsNullOrWhiteSpace(BlobServiceUri);
}

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

    public bool Configured => !string.IsNullOrWhiteSpace(ConnectionString) || !string.IsNullOrWhiteSpace(BlobServiceUri);
}

using DpIqa.Hosting;
using DpIqa.Models;
using DpIqa.Storage;
using Microsoft.Extensions.Options;

namespace DpIqa.Silo.Http;

/// <summary>
/// What <c>/healthz/ready</c> checks: this silo is an active member of the cluster, the job storage answers and the
/// model catalog serves the default model. The first check that fails is the reason given.
/// </summary>
internal sealed class Readiness(
    IClusterMembershipService membership,
    ILocalSiloDetails silo,
    ModelCatalog models,
    IOptions<StorageOptions> storage)
{
    private static readonly TimeSpan StorageTimeout = TimeSpan.FromSeconds(3);

    /// <summary>Null when ready, else why not (one line an operator can act on).</summary>
    public async Task<string?> Check(CancellationToken cancellationToken)
    {
        var status = SiloStatus.None;
        try
        {
            status = membership.CurrentSnapshot.GetSiloStatus(silo.SiloAddress);
        }
        catch (Exception e) when (e is InvalidOperationException or NullReferenceException or ObjectDisposedException)
        {
            // Membership is not started yet: the silo has not joined.
        }
        if (status != SiloStatus.Active)
            return $"the silo has not joined the cluster (membership status: {status}); wait, or check Cluster:* and the membership storage";

        if (storage.Value.Configured)
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(StorageTimeout);
                var blobs = ObjectStore.BlobService(storage.Value)!;
                await blobs.GetBlobContainerClient(SiloSetup.JobStorageContainer).ExistsAsync(timeout.Token);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                return $"job storage is unreachable ({Secrets.Redact(e.Message.Split('\n')[0])}); check Storage:ConnectionString or Storage:BlobServiceUri and the network";
            }
        }

        try
        {
            models.Resolve(models.DefaultModel);
        }
        catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            return $"model catalog: {e.Message}";
        }
        return null;
    }
}

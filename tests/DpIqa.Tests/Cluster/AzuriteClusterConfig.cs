using DpIqa.Hosting;
using DpIqa.Security;
using DpIqa.Storage;
using Microsoft.Extensions.Configuration;
using Orleans.TestingHost;

namespace DpIqa.Tests.Cluster;

/// <summary>
/// An in-process test silo as a cluster silo runs: Azure Table membership and Azure Blob job state on the storage of
/// <c>Storage:ConnectionString</c> (Azurite in tests), then the DpIqa grains and services.
/// </summary>
internal sealed class AzuriteSiloConfig : ISiloConfigurator
{
    public void Configure(ISiloBuilder silo)
    {
        var storage = new StorageOptions { ConnectionString = silo.Configuration["Storage:ConnectionString"] };
        silo.UseAzureStorageClustering(o => o.TableServiceClient = SiloSetup.TableClient(storage));
        SiloSetup.AddJobStorage(silo, storage);
        SiloSetup.UseDistributedGrainDirectory(silo);
        silo.AddDpIqa(silo.Configuration);
        // A fixture that sets Tls:* runs its silo as a deployed one: mutual TLS, tokens, container scopes.
        if (silo.Configuration["Tls:Certificate"] is not null) silo.UseClusterSecurity(silo.Configuration);
    }
}

/// <summary>The test cluster's client finds the silos in the same Azure Table membership as <see cref="AzuriteSiloConfig"/>.</summary>
internal sealed class AzuriteClientConfig : IClientBuilderConfigurator
{
    /// <summary>Where a fixture puts its own client's TLS and token settings (the silo's are Tls:* and Security:*).</summary>
    public const string ClientSection = "TestClient";

    public void Configure(IConfiguration configuration, IClientBuilder client)
    {
        client.UseAzureStorageClustering(o => o.TableServiceClient =
            SiloSetup.TableClient(new StorageOptions { ConnectionString = configuration["Storage:ConnectionString"] }));
        client.UseClusterSecurity(configuration.GetSection(ClientSection));
    }
}

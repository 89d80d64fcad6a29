using DpIqa.Models;
using DpIqa.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace DpIqa.Client;

/// <summary>
/// The one client setup every command uses: where settings come from (<c>dpiqa.json</c> in the working directory,
/// then environment variables <c>Section__Key</c>, then the command's own options) and the objects built from them
/// (storage, the model catalog). The cluster connection (<see cref="ClusterConnection"/>) and the embedded silo
/// (<see cref="LocalSilo"/>) read the same sources through <see cref="AddSources"/>.
/// </summary>
internal static class ClientSetup
{
    /// <summary>The settings file a user keeps beside their work; read from the working directory, as docs/cluster.md says.</summary>
    public const string SettingsFile = "dpiqa.json";

    /// <summary>Adds the client's settings sources, later ones overriding earlier ones.</summary>
    public static IConfigurationBuilder AddSources(this IConfigurationBuilder builder, IEnumerable<KeyValuePair<string, string?>>? settings = null) =>
        builder.AddJsonFile(Path.Combine(Directory.GetCurrentDirectory(), SettingsFile), optional: true)
            .AddEnvironmentVariables()
            .AddInMemoryCollection(settings ?? []);

    public static IConfiguration Configuration(IEnumerable<KeyValuePair<string, string?>>? settings = null) =>
        new ConfigurationBuilder().AddSources(settings).Build();

    public static StorageOptions Storage(IConfiguration configuration) =>
        configuration.GetSection(StorageOptions.Section).Get<StorageOptions>() ?? new StorageOptions();

    /// <summary>The object store of <c>Storage:*</c> (blob datasets, results), for commands that read or write it directly.</summary>
    public static ObjectStore ObjectStore(IEnumerable<KeyValuePair<string, string?>>? settings = null) =>
        new(Options.Create(Storage(Configuration(settings))));

    /// <summary>The model catalog of <c>Models:*</c> (a local folder, or the cluster's blob catalog).</summary>
    public static ModelCatalog Models(IEnumerable<KeyValuePair<string, string?>>? settings = null)
    {
        var configuration = Configuration(settings);
        var options = configuration.GetSection(ModelOptions.Section).Get<ModelOptions>() ?? new ModelOptions();
        return new ModelCatalog(Options.Create(options), Options.Create(Storage(configuration)));
    }
}

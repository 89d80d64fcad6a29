using DpIqa.Storage;

namespace DpIqa.Security;

/// <summary>
/// Which blob containers a job may read and write: the cluster's (<c>Security:ReadContainers</c>,
/// <c>Security:WriteContainers</c>) and, inside those, its submitter's. Checked at submit, at schedule creation and
/// again at each scheduled run. Local paths are the business of <c>Storage:LocalRoots</c>.
/// </summary>
internal sealed class ContainerScopes(IReadOnlyList<string> readScope, IReadOnlyList<string> writeScope)
{
    public const string All = "*";

    /// <summary>Refuses (<see cref="AccessRefusedException"/>, one line) a job touching a container outside the cluster's or the submitter's scope.</summary>
    public void Check(JobSpec spec)
    {
        var who = spec.SubmittedBy;
        foreach (var (what, container, write) in Containers(spec))
        {
            var cluster = write ? writeScope : readScope;
            // What an identity may write it may also read.
            IReadOnlyList<string>? identity = who is null ? null : write ? who.WriteContainers : [.. who.ReadContainers, .. who.WriteContainers];
            var verb = write ? "write" : "read";
            if (!Allows(cluster, container))
                throw new AccessRefusedException($"refused: {what} '{container}' is outside the containers this cluster may {verb} (Security:{(write ? "Write" : "Read")}Containers: {Show(cluster)})");
            if (who is not null && !Allows(identity!, container))
                throw new AccessRefusedException($"refused: {what} '{container}' is outside the containers '{who.Name}' may {verb} ({Show(identity!)}); ask an admin for a token that names it (dpiqa token create --containers)");
        }
    }

    private static bool Allows(IReadOnlyList<string> scope, string container) => scope.Contains(All) || scope.Contains(container);

    private static string Show(IReadOnlyList<string> scope) => scope.Count == 0 ? "none" : string.Join(",", scope);

    /// <summary>The blob containers a job reads and writes, with the option that names each.</summary>
    internal static IEnumerable<(string What, string Container, bool Write)> Containers(JobSpec spec)
    {
        foreach (var source in spec.Sources)
        {
            var location = Locations.IsListing(source) ? source[Locations.ListingScheme.Length..] : source;
            if (!Locations.IsBlob(location)) continue;
            var container = Locations.ParseBlob(location).Container;
            yield return (Locations.IsListing(source) ? "the listing's container" : "the source container", container, false);
            if (spec.Tag && !Locations.IsListing(source)) yield return ("--tag on the source container", container, true);
        }
        if (spec.Labels?.File is { } labels && Locations.IsBlob(labels)) yield return ("the labels' container", Locations.ParseBlob(labels).Container, false);
        if (Locations.IsBlob(spec.Output)) yield return ("the --out container", Locations.ParseBlob(spec.Output).Container, true);
        // --quarantine names a container (CurationActions).
        if (spec.Quarantine is { } quarantine)
            yield return ("the --quarantine container", Locations.ParseBlob(Locations.IsBlob(quarantine) ? quarantine : Locations.Blob(quarantine)).Container, true);
        if (spec.ScoreCacheFile is { } cache && Locations.IsBlob(cache)) yield return ("the score cache's container", Locations.ParseBlob(cache).Container, true);
    }
}

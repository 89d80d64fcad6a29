using System.Security.Cryptography.X509Certificates;
using DpIqa.Security;
using DpIqa.Storage;
using DpIqa.Tests.Cluster;
using Microsoft.Extensions.Options;

namespace DpIqa.Tests.Security;

/// <summary>The pieces of issue 23 that need no cluster: certificate files, tokens, container scopes, role tags.</summary>
public sealed class SecurityUnitTests
{
    private static TestPki Pki => TestPki.Shared;

    [Fact]
    public void Pem_and_pfx_certificates_load_and_a_missing_or_foreign_one_names_its_key()
    {
        var pem = ClusterCertificates.Load(new TlsSettings { Certificate = Pki.SiloCertificate, Key = Pki.SiloKey, Ca = Pki.Ca });
        Assert.True(pem.Certificate.HasPrivateKey);
        Assert.True(pem.ChainsToCa(X509CertificateLoader.LoadCertificateFromFile(Pki.ClientCertificate)));
        Assert.False(pem.ChainsToCa(X509CertificateLoader.LoadCertificateFromFile(Pki.ForeignCertificate)));

        using var folder = new TempFolder();
        var pfx = Path.Combine(folder.Path, "silo.pfx");
        File.WriteAllBytes(pfx, pem.Certificate.Export(X509ContentType.Pkcs12, "pw"));
        File.WriteAllText(Path.Combine(folder.Path, "pw"), "pw\n");
        var fromPfx = ClusterCertificates.Load(new TlsSettings { Certificate = pfx, PasswordFile = Path.Combine(folder.Path, "pw"), Ca = Pki.Ca });
        Assert.Equal(pem.Certificate.Thumbprint, fromPfx.Certificate.Thumbprint);

        Assert.Contains("Tls:Certificate names '/no/such.crt', which cannot be read (no such file)",
            Assert.Throws<OptionsValidationException>(() => ClusterCertificates.Load(new TlsSettings { Certificate = "/no/such.crt", Key = Pki.SiloKey, Ca = Pki.Ca })).Message);
        Assert.Contains("Tls:Ca",
            Assert.Throws<OptionsValidationException>(() => ClusterCertificates.Load(new TlsSettings { Certificate = Pki.SiloCertificate, Key = Pki.SiloKey })).Message);
        Assert.Contains("does not chain to the CA",
            Assert.Throws<OptionsValidationException>(() => ClusterCertificates.Load(new TlsSettings { Certificate = Pki.ForeignCertificate, Key = Pki.ForeignKey, Ca = Pki.Ca })).Message);
        var wrongKey = Assert.Throws<OptionsValidationException>(() => ClusterCertificates.Load(new TlsSettings { Certificate = Pki.SiloCertificate, Key = Pki.ClientKey, Ca = Pki.Ca })).Message;
        Assert.Contains("Tls:Certificate cannot be used", wrongKey);
        Assert.DoesNotContain(File.ReadAllLines(Pki.ClientKey)[1], wrongKey); // names the file, never the key
    }

    [Fact]
    public void A_token_verifies_only_whole_unexpired_and_signed_with_the_key()
    {
        var now = DateTimeOffset.UtcNow;
        var token = AccessTokens.Create(Pki.SigningKey, new Submitter { Name = "alice", Role = Role.Operator, WriteContainers = ["results"], ReadContainers = ["photos"] }, now.AddHours(1));
        var (who, _) = AccessTokens.Verify(Pki.SigningKey, token, now);
        Assert.Equal(("alice", Role.Operator), (who.Name, who.Role));
        Assert.Equal(["results"], who.WriteContainers);
        Assert.Equal(["photos"], who.ReadContainers);

        var parts = token.Split('.');
        // Another payload (admin) under the old signature: the signature no longer matches.
        var admin = AccessTokens.Create(Pki.SigningKey, new Submitter { Name = "alice", Role = Role.Admin }, now.AddHours(1)).Split('.');
        foreach (var (bad, expected) in new[]
                 {
                     ($"{parts[0]}.{admin[1]}.{parts[2]}", "not signed with this cluster's signing key"),
                     (token[..^3], "not signed with this cluster's signing key"),
                     ("dpiqa1.###.x", "damaged"),
                     ("eyJhbGciOi.x.y", "not a dpiqa token"),
                     ("", "carries no token"),
                 })
        {
            var e = Assert.Throws<AccessRefusedException>(() => AccessTokens.Verify(Pki.SigningKey, bad, now));
            Assert.Contains(expected, e.Message);
            if (bad.Length > 8) Assert.DoesNotContain(bad, e.Message);
        }
        Assert.Contains("expired", Assert.Throws<AccessRefusedException>(() => AccessTokens.Verify(Pki.SigningKey, token, now.AddHours(2))).Message);
        Assert.Contains("not signed", Assert.Throws<AccessRefusedException>(() => AccessTokens.Verify(new byte[32], token, now)).Message);

        Assert.Contains("at least 32", Assert.Throws<OptionsValidationException>(() => AccessTokens.SigningKey(new SecuritySettings { SigningKey = Convert.ToBase64String(new byte[16]) })).Message);
        Assert.Contains("Security:SigningKeyFile", Assert.Throws<OptionsValidationException>(() => AccessTokens.SigningKey(new SecuritySettings())).Message);
    }

    [Fact]
    public void Scopes_cover_every_container_a_job_reads_or_writes()
    {
        var who = new Submitter { Name = "oscar", Role = Role.Operator, WriteContainers = ["results"], ReadContainers = ["photos"] };
        var scopes = new ContainerScopes(["photos", "results", "labels"], ["results"]);
        JobSpec Spec(string source, string output) => new() { Sources = [source], Model = "m", Output = output, SubmittedBy = who };
        scopes.Check(Spec(Locations.Blob("photos/in"), Locations.Blob("results/out")));
        scopes.Check(Spec("/local/path", "/local/out")); // local paths are Storage:LocalRoots' business

        void Refused(JobSpec spec, string expected, ContainerScopes? s = null) =>
            Assert.Contains(expected, Assert.Throws<AccessRefusedException>(() => (s ?? scopes).Check(spec)).Message);
        Refused(Spec(Locations.Blob("labels/in"), Locations.Blob("results/out")), "the source container 'labels' is outside the containers 'oscar' may read");
        Refused(Spec(Locations.ListingScheme + Locations.Blob("other/list.txt"), Locations.Blob("results/out")), "the listing's container 'other' is outside the containers this cluster may read");
        Refused(Spec(Locations.Blob("photos/in"), Locations.Blob("photos/out")), "the --out container 'photos' is outside the containers this cluster may write");
        Refused(Spec(Locations.Blob("photos/in"), Locations.Blob("results/out")) with { Tag = true }, "--tag on the source container 'photos'");
        Refused(Spec(Locations.Blob("photos/in"), Locations.Blob("results/out")) with { Quarantine = "quarantine" }, "the --quarantine container 'quarantine'");
        Refused(Spec(Locations.Blob("photos/in"), Locations.Blob("results/out")) with { Labels = new LabelSource { File = Locations.Blob("labels/mos.csv") } }, "the labels' container 'labels' is outside the containers 'oscar'");
        // A cluster that allows all still bounds the identity; an identity of '*' gets what the cluster allows.
        Refused(Spec(Locations.Blob("other/in"), Locations.Blob("results/out")), "'oscar' may read", new ContainerScopes(["*"], ["*"]));
        new ContainerScopes(["*"], ["*"]).Check(Spec(Locations.Blob("any/in"), Locations.Blob("any/out")) with { SubmittedBy = who with { WriteContainers = ["*"] } });
    }

    [Fact]
    public void Every_grain_method_names_who_may_call_it_and_silo_only_methods_are_closed_to_clients()
    {
        Assert.Equal(Role.Operator, CallerFilter.RequiredRole(typeof(IJobGrain), typeof(IJobGrain).GetMethod(nameof(IJobGrain.Start))));
        Assert.Equal(Role.Reader, CallerFilter.RequiredRole(typeof(IJobGrain), typeof(IJobGrain).GetMethod(nameof(IJobGrain.GetStatus))));
        Assert.Equal(Role.Silo, CallerFilter.RequiredRole(typeof(IJobGrain), typeof(IJobGrain).GetMethod(nameof(IJobGrain.Lease))));
        Assert.Equal(Role.Admin, CallerFilter.RequiredRole(typeof(IIdentityGrain), typeof(IIdentityGrain).GetMethod(nameof(IIdentityGrain.RequireAdmin))));
        Assert.Equal(Role.Admin, CallerFilter.RequiredRole(typeof(IManagementGrain), typeof(IManagementGrain).GetMethods().First(m => m.Name == nameof(IManagementGrain.GetHosts))));
        Assert.Null(CallerFilter.RequiredRole(typeof(IDisposable), typeof(IDisposable).GetMethod(nameof(IDisposable.Dispose))));
        // Each DP-IQA grain interface says its default role, so a method without its own is not silently admin-only by accident.
        foreach (var type in typeof(IJobGrain).Assembly.GetTypes().Where(t => t.IsInterface && typeof(IAddressable).IsAssignableFrom(t)))
            Assert.True(type.GetCustomAttributes(typeof(RequiresRoleAttribute), false).Length > 0
                || type.GetMethods().All(m => m.GetCustomAttributes(typeof(RequiresRoleAttribute), false).Length > 0), $"{type.Name} names no role");
    }
}

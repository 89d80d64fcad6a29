using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using DpIqa.Security;

namespace DpIqa.Tests.Cluster;

/// <summary>
/// A throwaway PKI for cluster tests, made with System.Security.Cryptography (nothing to install): the cluster's CA
/// with a silo and a client certificate, a foreign CA with a certificate of its own, and a token signing key — as PEM
/// files, the way Kubernetes Secrets mount them. Made once per test run; the folder goes when the process ends.
/// </summary>
internal sealed class TestPki
{
    private static readonly Lazy<TestPki> Instance = new(() => new TestPki());

    public static TestPki Shared => Instance.Value;

    public string Folder { get; } = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "dpiqa-pki-" + Guid.NewGuid().ToString("N")[..10])).FullName;

    public string Ca => Path.Combine(Folder, "ca.crt");
    public string SiloCertificate => Path.Combine(Folder, "silo.crt");
    public string SiloKey => Path.Combine(Folder, "silo.key");
    public string ClientCertificate => Path.Combine(Folder, "client.crt");
    public string ClientKey => Path.Combine(Folder, "client.key");
    public string ForeignCa => Path.Combine(Folder, "foreign-ca.crt");
    public string ForeignCertificate => Path.Combine(Folder, "foreign.crt");
    public string ForeignKey => Path.Combine(Folder, "foreign.key");
    public string SigningKeyFile => Path.Combine(Folder, "signing.key");

    /// <summary>Both CAs in one PEM file: a client of the foreign CA that trusts the cluster's, so only the gateway can refuse it.</summary>
    public string BothCas => Path.Combine(Folder, "both-ca.crt");

    public byte[] SigningKey { get; } = RandomNumberGenerator.GetBytes(32);

    /// <summary>A token of the admin role for every container: what the fixtures' own clients use.</summary>
    public string AdminToken { get; }

    private TestPki()
    {
        var (ca, caKey) = MakeCa("CN=dpiqa test CA");
        Write(Ca, ca.ExportCertificatePem());
        MakeLeaf("CN=dpiqa-silo", ca, caKey, SiloCertificate, SiloKey);
        MakeLeaf("CN=dpiqa-client", ca, caKey, ClientCertificate, ClientKey);
        var (foreign, foreignKey) = MakeCa("CN=someone else's CA");
        Write(ForeignCa, foreign.ExportCertificatePem());
        Write(BothCas, ca.ExportCertificatePem() + "\n" + foreign.ExportCertificatePem());
        MakeLeaf("CN=dpiqa-silo", foreign, foreignKey, ForeignCertificate, ForeignKey);
        Write(SigningKeyFile, Convert.ToBase64String(SigningKey));
        AdminToken = Token("test-admin", Role.Admin, ["*"]);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(Folder, recursive: true); } catch (IOException) { }
        };
    }

    public string Token(string name, Role role, string[] containers, string[]? readOnly = null, TimeSpan? lifetime = null) =>
        AccessTokens.Create(SigningKey, new Submitter { Name = name, Role = role, WriteContainers = containers, ReadContainers = readOnly ?? [] },
            DateTimeOffset.UtcNow.Add(lifetime ?? TimeSpan.FromDays(1)));

    /// <summary>A silo's settings (environment variable names): mutual TLS, tokens, every container.</summary>
    public Dictionary<string, string> SiloEnvironment() => new()
    {
        ["Tls__Certificate"] = SiloCertificate, ["Tls__Key"] = SiloKey, ["Tls__Ca"] = Ca,
        ["Security__SigningKeyFile"] = SigningKeyFile, ["Security__ReadContainers"] = "*", ["Security__WriteContainers"] = "*",
    };

    /// <summary>A client's settings (environment variable names): its certificate and <paramref name="token"/> (default: admin).</summary>
    public Dictionary<string, string> ClientEnvironment(string? token = null) => new()
    {
        ["Tls__Certificate"] = ClientCertificate, ["Tls__Key"] = ClientKey, ["Tls__Ca"] = Ca, ["Security__Token"] = token ?? AdminToken,
    };

    /// <summary>Settings as configuration keys (Section:Key) instead of environment variable names.</summary>
    public static Dictionary<string, string> AsKeys(Dictionary<string, string> environment) =>
        environment.ToDictionary(p => p.Key.Replace("__", ":", StringComparison.Ordinal), p => p.Value);

    private static (X509Certificate2 Certificate, ECDsa Key) MakeCa(string subject)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return (request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30)), key);
    }

    private static void MakeLeaf(string subject, X509Certificate2 ca, ECDsa caKey, string certificateFile, string keyFile)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
        var serial = RandomNumberGenerator.GetBytes(12);
        serial[0] &= 0x7f;
        using var issued = request.Create(ca.SubjectName, X509SignatureGenerator.CreateForECDsa(caKey), DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(20), serial);
        Write(certificateFile, issued.ExportCertificatePem());
        Write(keyFile, key.ExportPkcs8PrivateKeyPem());
    }

    private static void Write(string path, string text) => File.WriteAllText(path, text + "\n");
}

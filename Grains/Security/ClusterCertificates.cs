using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace DpIqa.Security;

/// <summary>
/// This node's certificate and the cluster's CA, loaded from the files of <see cref="TlsSettings"/>, and the one rule
/// for a peer's certificate: it chains to the CA (host names are not checked: silos are reached by pod IPs that
/// change, and membership in the cluster is what the CA vouches for).
/// </summary>
internal sealed class ClusterCertificates
{
    public required X509Certificate2 Certificate { get; init; }
    public required X509Certificate2Collection Ca { get; init; }

    /// <summary>Loads and checks the files; a missing, unreadable or unusable one throws one line naming its key.</summary>
    public static ClusterCertificates Load(TlsSettings tls, TimeProvider? clock = null)
    {
        const string certKey = $"{TlsSettings.Section}:{nameof(TlsSettings.Certificate)}", keyKey = $"{TlsSettings.Section}:{nameof(TlsSettings.Key)}",
            caKey = $"{TlsSettings.Section}:{nameof(TlsSettings.Ca)}", passwordKey = $"{TlsSettings.Section}:{nameof(TlsSettings.PasswordFile)}";
        if (string.IsNullOrWhiteSpace(tls.Certificate))
            throw SettingFiles.Invalid(certKey, "is not set: name this node's certificate (PEM or PFX), or set Tls:Enabled=false for plain TCP");
        if (string.IsNullOrWhiteSpace(tls.Ca))
            throw SettingFiles.Invalid(caKey, "is not set: name the PEM file of the CA that every node's certificate chains to");
        var certificate = LoadCertificate(tls, certKey, keyKey, passwordKey);
        var ca = new X509Certificate2Collection();
        try
        {
            ca.ImportFromPem(SettingFiles.ReadText(caKey, tls.Ca));
        }
        catch (CryptographicException e)
        {
            throw SettingFiles.Invalid(caKey, $"names '{tls.Ca}', which holds no readable PEM certificate ({e.Message.TrimEnd('.')})");
        }
        if (ca.Count == 0) throw SettingFiles.Invalid(caKey, $"names '{tls.Ca}', which holds no PEM certificate");
        var now = (clock ?? TimeProvider.System).GetUtcNow();
        if (certificate.NotAfter.ToUniversalTime() <= now.UtcDateTime)
            throw SettingFiles.Invalid(certKey, $"names a certificate that expired on {certificate.NotAfter.ToUniversalTime():yyyy-MM-dd HH:mm} UTC: renew it");
        var loaded = new ClusterCertificates { Certificate = certificate, Ca = ca };
        if (!loaded.ChainsToCa(certificate))
            throw SettingFiles.Invalid(certKey, $"names a certificate ({certificate.Subject}) that does not chain to the CA of Tls:Ca: peers would refuse it");
        return loaded;
    }

    private static X509Certificate2 LoadCertificate(TlsSettings tls, string certKey, string keyKey, string passwordKey)
    {
        var path = tls.Certificate!;
        bool pfx = path.EndsWith(".pfx", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".p12", StringComparison.OrdinalIgnoreCase);
        X509Certificate2 certificate;
        try
        {
            if (pfx)
            {
                var password = string.IsNullOrWhiteSpace(tls.PasswordFile) ? null : SettingFiles.ReadText(passwordKey, tls.PasswordFile).TrimEnd('\r', '\n');
                certificate = X509CertificateLoader.LoadPkcs12(SettingFiles.ReadBytes(certKey, path), password);
            }
            else
            {
                var pem = SettingFiles.ReadText(certKey, path);
                var keyPem = string.IsNullOrWhiteSpace(tls.Key) ? pem : SettingFiles.ReadText(keyKey, tls.Key);
                certificate = X509Certificate2.CreateFromPem(pem, keyPem);
            }
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException) // ArgumentException: a key of another certificate
        {
            // The message names the files, never their content (a key is a secret).
            var what = pfx ? $"'{path}' is not a PFX file this password opens" : $"'{path}' and {(string.IsNullOrWhiteSpace(tls.Key) ? "the key in it" : $"'{tls.Key}' (Tls:Key)")} are not a PEM certificate and its private key";
            throw SettingFiles.Invalid(certKey, $"cannot be used: {what} ({e.Message.TrimEnd('.')})");
        }
        if (!certificate.HasPrivateKey) throw SettingFiles.Invalid(keyKey, $"is needed: '{path}' holds no private key");
        // SslStream on Linux wants the key in a form it can export to OpenSSL; a PEM-made certificate is ephemeral.
        return pfx ? certificate : X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>Whether <paramref name="peer"/> chains to the cluster's CA (with intermediates from <paramref name="presented"/>).</summary>
    public bool ChainsToCa(X509Certificate2 peer, X509Chain? presented = null)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(Ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck; // a throwaway or private CA publishes no CRL
        if (presented is not null)
            foreach (var element in presented.ChainElements)
                if (!element.Certificate.RawDataMemory.Span.SequenceEqual(peer.RawDataMemory.Span)) chain.ChainPolicy.ExtraStore.Add(element.Certificate);
        return chain.Build(peer);
    }
}

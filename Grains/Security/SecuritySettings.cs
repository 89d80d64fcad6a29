namespace DpIqa.Security;

/// <summary>
/// Configuration section <c>Tls</c>: mutual TLS between silos and between clients and gateways. Files as Kubernetes
/// Secrets mount them: a PEM certificate with its PEM key, or one PFX (PKCS#12) file; the CA every peer must chain to.
/// </summary>
public sealed class TlsSettings
{
    public const string Section = "Tls";

    /// <summary>
    /// Null: on when <see cref="Certificate"/> is set. A cluster silo must be told one way or the other: a certificate,
    /// or <c>Tls:Enabled=false</c> written out (plain TCP, for a network nobody else can reach).
    /// </summary>
    public bool? Enabled { get; set; }

    /// <summary>This node's certificate: a PEM file (<c>tls.crt</c>) or a PFX file (<c>.pfx</c>/<c>.p12</c>).</summary>
    public string? Certificate { get; set; }

    /// <summary>The PEM private key of <see cref="Certificate"/> (<c>tls.key</c>); not needed for a PFX or a PEM holding both.</summary>
    public string? Key { get; set; }

    /// <summary>A file holding the PFX password (not the password itself: it stays out of configuration dumps).</summary>
    public string? PasswordFile { get; set; }

    /// <summary>PEM file of the CA certificate(s) peers must chain to (<c>ca.crt</c>).</summary>
    public string? Ca { get; set; }

    /// <summary>A certificate that expires within this many days is logged as a warning at start.</summary>
    public int ExpiryWarningDays { get; set; } = 30;

    public bool On => Enabled ?? !string.IsNullOrWhiteSpace(Certificate);
}

/// <summary>
/// Configuration section <c>Security</c>: client identities (signed tokens with roles) and the containers jobs may
/// use. The silo holds the signing key; a client holds its token.
/// </summary>
public sealed class SecuritySettings
{
    public const string Section = "Security";

    /// <summary>File holding the token signing key, base64 of at least 32 random bytes (<c>openssl rand -base64 32</c>).</summary>
    public string? SigningKeyFile { get; set; }

    /// <summary>The signing key itself, base64 (from an environment variable a Secret fills); <see cref="SigningKeyFile"/> is preferred.</summary>
    public string? SigningKey { get; set; }

    /// <summary>
    /// Accept client calls without a token, as an admin named <c>anonymous</c>. A cluster silo without a signing key
    /// refuses to start unless this is set: an open cluster is the operator's written choice, never a default.
    /// </summary>
    public bool AllowAnonymous { get; set; }

    /// <summary>Containers the cluster's jobs may read (sources, listings, labels), comma separated; <c>*</c> for every container. Required on a cluster silo.</summary>
    public string? ReadContainers { get; set; }

    /// <summary>Containers the cluster's jobs may write (results, tags, quarantine, score caches), comma separated; <c>*</c> for every container. Required on a cluster silo.</summary>
    public string? WriteContainers { get; set; }

    /// <summary>A comma-separated list of containers as a list (empty entries dropped).</summary>
    public static string[] List(string? text) => (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>The client's token (<c>dpiqa token create</c>); a client setting, usually the environment variable <c>Security__Token</c>.</summary>
    public string? Token { get; set; }

    /// <summary>A file holding the client's token, instead of <see cref="Token"/>.</summary>
    public string? TokenFile { get; set; }

    public bool HasSigningKey => !string.IsNullOrWhiteSpace(SigningKeyFile) || !string.IsNullOrWhiteSpace(SigningKey);
}

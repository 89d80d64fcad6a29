using System.Net.Security;
using System.Security.Authentication;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Connections.Security;

namespace DpIqa.Security;

/// <summary>
/// Mutual TLS on every Orleans connection (silo to silo, client to gateway) from <see cref="TlsSettings"/>: both
/// sides present a certificate and both accept only one that chains to the cluster's CA.
/// </summary>
internal static partial class TransportSecurity
{
    /// <summary>Adds mutual TLS to a silo when <c>Tls</c> is on; returns whether it did.</summary>
    public static bool UseClusterTls(this ISiloBuilder silo, IConfiguration configuration)
    {
        var tls = configuration.GetSection(TlsSettings.Section).Get<TlsSettings>() ?? new TlsSettings();
        if (!tls.On) return false;
        var certificates = ClusterCertificates.Load(tls);
        silo.UseTls(certificates.Certificate, o => Configure(o, certificates));
        silo.Services.AddSingleton(certificates);
        silo.Services.AddSingleton(tls);
        silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, CertificateExpiryLog>();
        return true;
    }

    /// <summary>Adds mutual TLS to a client when <c>Tls</c> is on (a certificate is configured); returns whether it did.</summary>
    public static bool UseClusterTls(this IClientBuilder client, IConfiguration configuration)
    {
        var tls = configuration.GetSection(TlsSettings.Section).Get<TlsSettings>() ?? new TlsSettings();
        if (!tls.On) return false;
        var certificates = ClusterCertificates.Load(tls);
        client.UseTls(certificates.Certificate, o => Configure(o, certificates));
        return true;
    }

    private static void Configure(TlsOptions o, ClusterCertificates certificates)
    {
        o.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
        o.ClientCertificateMode = RemoteCertificateMode.RequireCertificate;
        o.SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13;
        o.RemoteCertificateValidation = (certificate, chain, errors) =>
            // No certificate at all is refused; a name mismatch is not (see ClusterCertificates); the chain must reach our CA.
            certificate is not null && !errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable) && certificates.ChainsToCa(certificate, chain);
        // Orleans dials silos by IP: any name satisfies SNI; the certificate check above is what counts.
        o.OnAuthenticateAsClient = (_, ssl) => ssl.TargetHost ??= "dpiqa";
    }

    /// <summary>Logs at start when this silo's certificate expires soon, so a renewal is not found by an outage.</summary>
    private sealed partial class CertificateExpiryLog(ClusterCertificates certificates, TlsSettings tls, ILogger<CertificateExpiryLog> logger, TimeProvider? clock = null)
        : ILifecycleParticipant<ISiloLifecycle>
    {
        public void Participate(ISiloLifecycle lifecycle) => lifecycle.Subscribe(nameof(CertificateExpiryLog), ServiceLifecycleStage.First, _ =>
        {
            var left = certificates.Certificate.NotAfter.ToUniversalTime() - (clock ?? TimeProvider.System).GetUtcNow().UtcDateTime;
            if (left < TimeSpan.FromDays(tls.ExpiryWarningDays))
                ExpiresSoon(logger, certificates.Certificate.Subject, certificates.Certificate.NotAfter.ToUniversalTime(), Math.Max(0, left.TotalDays));
            else
                TlsOn(logger, certificates.Certificate.Subject, certificates.Certificate.NotAfter.ToUniversalTime());
            return Task.CompletedTask;
        });

        [LoggerMessage(Level = LogLevel.Warning, Message = "TLS certificate {Subject} (Tls:Certificate) expires on {NotAfter:u}, in {Days:F1} days: renew it and restart the silo")]
        private static partial void ExpiresSoon(ILogger logger, string subject, DateTime notAfter, double days);

        [LoggerMessage(Level = LogLevel.Information, Message = "mutual TLS on: certificate {Subject}, valid until {NotAfter:u}")]
        private static partial void TlsOn(ILogger logger, string subject, DateTime notAfter);
    }
}

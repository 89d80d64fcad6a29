using System.Collections.Concurrent;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace DpIqa.Security;

/// <summary>
/// Checks every call a client makes to a DP-IQA grain (and to Orleans' management grain): the token in the request
/// context must verify, and its role must be the method's (<see cref="RequiresRoleAttribute"/>). A job or schedule
/// gets its verified submitter stamped in, and every job start (a client's, or a schedule's run) is checked against the
/// container scopes. Calls between silos carry no token and pass: mutual TLS already says they are the cluster's.
/// </summary>
internal sealed class CallerFilter(CallGuard guard) : IIncomingGrainCallFilter
{
    /// <summary>The request context key a client's token travels under (inside the TLS channel).</summary>
    public const string TokenKey = "dpiqa.token";

    private static readonly ConcurrentDictionary<MethodInfo, Role?> Roles = new();

    public async Task Invoke(IIncomingGrainCallContext context)
    {
        // Taken out at once: the token must not travel on into the calls this grain makes, nor into any log of them.
        var token = RequestContext.Get(TokenKey) as string;
        if (token is not null) RequestContext.Remove(TokenKey);
        if (RequiredRole(context.InterfaceMethod?.DeclaringType, context.InterfaceMethod) is not { } required)
        {
            await context.Invoke();
            return;
        }
        if (FromClient(context.SourceId))
        {
            var who = guard.Authenticate(token);
            // An open cluster (Security:AllowAnonymous, no signing key) trusts its clients as it trusts its silos.
            if (required == Role.Silo)
            {
                if (!guard.Open) throw new AccessRefusedException($"refused: {context.InterfaceName}.{context.MethodName} is called by silos only");
            }
            else if (who.Role < required)
                throw new AccessRefusedException(
                    $"refused: {What(context)} needs the {AccessTokens.RoleName(required)} role; the token of '{who.Name}' has {AccessTokens.RoleName(who.Role)} (ask an admin for a token with --role {AccessTokens.RoleName(required)})");
            Stamp(context, who);
        }
        if (context.Request.GetArgumentCount() > 0)
            switch (context.Request.GetArgument(0))
            {
                case JobSpec job: guard.Scopes.Check(job); break;
                case ScheduleSpec schedule: guard.Scopes.Check(schedule.Job); break;
            }
        await context.Invoke();
    }

    /// <summary>A call from a client process (not a silo's own hosted client, whose id is "hosted-SILO").</summary>
    private static bool FromClient(GrainId? source) =>
        source is { } id && GrainTypePrefix.IsClient(id) && !id.Key.ToString()!.StartsWith("hosted-", StringComparison.Ordinal);

    /// <summary>The role a method needs, or null for grains this filter leaves alone (Orleans' own, the dashboard's).</summary>
    internal static Role? RequiredRole(Type? type, MethodInfo? method)
    {
        if (type is null || method is null) return null;
        return Roles.GetOrAdd(method, m =>
        {
            if (type == typeof(IManagementGrain)) return Role.Admin;
            if (type.Assembly != typeof(RequiresRoleAttribute).Assembly) return null;
            return (m.GetCustomAttribute<RequiresRoleAttribute>() ?? type.GetCustomAttribute<RequiresRoleAttribute>())?.Role ?? Role.Admin;
        });
    }

    /// <summary>The submitter a client cannot forge: whatever it put in the spec is replaced by the verified identity.</summary>
    private static void Stamp(IIncomingGrainCallContext context, Submitter who)
    {
        if (context.Request.GetArgumentCount() == 0) return;
        switch (context.Request.GetArgument(0))
        {
            case JobSpec job: context.Request.SetArgument(0, job with { SubmittedBy = who }); break;
            case ScheduleSpec schedule: context.Request.SetArgument(0, schedule with { Job = schedule.Job with { SubmittedBy = who } }); break;
        }
    }

    private static string What(IIncomingGrainCallContext context) => (context.InterfaceMethod?.DeclaringType?.Name, context.MethodName) switch
    {
        (nameof(IJobGrain), nameof(IJobGrain.Start)) => "submitting a job",
        (nameof(IJobGrain), nameof(IJobGrain.Cancel)) => "cancelling a job",
        (nameof(IScheduleGrain), nameof(IScheduleGrain.Create)) => "creating a schedule",
        (nameof(IScheduleGrain), _) => $"changing a schedule ({context.MethodName})",
        (nameof(IIdentityGrain), nameof(IIdentityGrain.RequireAdmin)) => "changing the cluster's models",
        var (type, method) => $"{type}.{method}",
    };
}

/// <summary>What the silo knows to check callers with: the signing key (null: anonymous callers allowed) and the scopes.</summary>
internal sealed class CallGuard(byte[]? key, ContainerScopes scopes, TimeProvider clock)
{
    public static readonly Submitter Anonymous = new() { Name = "anonymous", Role = Role.Admin, ReadContainers = [ContainerScopes.All], WriteContainers = [ContainerScopes.All] };

    public ContainerScopes Scopes => scopes;

    /// <summary>No signing key: every client is the anonymous admin.</summary>
    public bool Open => key is null;

    public Submitter Authenticate(string? token) => key is null ? Anonymous : AccessTokens.Verify(key, token, clock.GetUtcNow()).Identity;
}

/// <summary>The one place a silo's security is wired: mutual TLS, the caller filter and the container scopes.</summary>
public static class ClusterSecurity
{
    /// <summary>
    /// Adds TLS (<c>Tls:*</c>), token checks and container scopes (<c>Security:*</c>) to a cluster silo. Each must be
    /// configured or turned off in so many words; a missing choice or an unreadable file throws one line naming the key.
    /// </summary>
    public static ISiloBuilder UseClusterSecurity(this ISiloBuilder silo, IConfiguration configuration)
    {
        var tls = configuration.GetSection(TlsSettings.Section).Get<TlsSettings>() ?? new TlsSettings();
        if (!silo.UseClusterTls(configuration) && tls.Enabled != false)
            throw SettingFiles.Invalid("Tls:Certificate", "is not set: name this silo's certificate, key and CA (Tls:Certificate, Tls:Key, Tls:Ca), or set Tls:Enabled=false to run on plain TCP");
        var settings = configuration.GetSection(SecuritySettings.Section).Get<SecuritySettings>() ?? new SecuritySettings();
        byte[]? key = settings.HasSigningKey ? AccessTokens.SigningKey(settings) : null;
        if (key is null && !settings.AllowAnonymous)
            throw SettingFiles.Invalid("Security:SigningKeyFile", "is not set: name the token signing key's file (openssl rand -base64 32 > signing.key), or set Security:AllowAnonymous=true to let every client act as admin");
        if (settings.ReadContainers is null)
            throw SettingFiles.Invalid("Security:ReadContainers", "is not set: list the containers jobs may read (comma separated), or * for all");
        if (settings.WriteContainers is null)
            throw SettingFiles.Invalid("Security:WriteContainers", "is not set: list the containers jobs may write (comma separated), or * for all");
        var scopes = new ContainerScopes(SecuritySettings.List(settings.ReadContainers), SecuritySettings.List(settings.WriteContainers));
        silo.Services.AddSingleton(sp => new CallGuard(key, scopes, sp.GetService<TimeProvider>() ?? TimeProvider.System));
        silo.AddIncomingGrainCallFilter<CallerFilter>();
        return silo;
    }

    /// <summary>Adds TLS (when <c>Tls:Certificate</c> is set) and the token of <c>Security:Token</c>/<c>Security:TokenFile</c> to a client.</summary>
    public static IClientBuilder UseClusterSecurity(this IClientBuilder client, IConfiguration configuration)
    {
        client.UseClusterTls(configuration);
        var settings = configuration.GetSection(SecuritySettings.Section).Get<SecuritySettings>() ?? new SecuritySettings();
        var token = !string.IsNullOrWhiteSpace(settings.TokenFile) ? SettingFiles.ReadText("Security:TokenFile", settings.TokenFile).Trim() : settings.Token?.Trim();
        if (!string.IsNullOrEmpty(token)) client.Services.AddSingleton<IOutgoingGrainCallFilter>(new TokenFilter(token));
        return client;
    }

    /// <summary>Puts the client's token on each call it makes.</summary>
    private sealed class TokenFilter(string token) : IOutgoingGrainCallFilter
    {
        public Task Invoke(IOutgoingGrainCallContext context)
        {
            RequestContext.Set(CallerFilter.TokenKey, token);
            return context.Invoke();
        }
    }
}

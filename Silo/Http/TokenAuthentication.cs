using System.Security.Claims;
using System.Text;
using System.Text.Encodings.Web;
using DpIqa.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DpIqa.Silo.Http;

/// <summary>
/// The silo's HTTP endpoints take the same tokens as its grains (<c>dpiqa token create</c>): as a bearer token
/// (<c>Authorization: Bearer TOKEN</c>), or as the password of basic auth so a browser's prompt opens the dashboard (any
/// user name). One reusable piece: an endpoint or group calls <see cref="RequireRole{T}"/>; a handler reads the caller
/// with <see cref="Caller"/> (e.g. to stamp a job's submitter). Without a signing key (<c>Security:AllowAnonymous</c>)
/// every request is the anonymous admin, as on the gateway.
/// </summary>
internal static class TokenAuthentication
{
    public const string Scheme = "dpiqa-token";
    private const string RoleClaim = "dpiqa:role", ReadClaim = "dpiqa:read", WriteClaim = "dpiqa:write";

    public static IServiceCollection AddTokenAuthentication(this IServiceCollection services, IConfiguration configuration)
    {
        var settings = configuration.GetSection(SecuritySettings.Section).Get<SecuritySettings>() ?? new SecuritySettings();
        services.AddSingleton(new SigningKey(settings.HasSigningKey ? AccessTokens.SigningKey(settings) : null));
        services.AddAuthentication(Scheme).AddScheme<AuthenticationSchemeOptions, Handler>(Scheme, null);
        services.AddAuthorization(o =>
        {
            foreach (var role in new[] { Role.Reader, Role.Operator, Role.Admin })
                o.AddPolicy(Policy(role), p => p.AddAuthenticationSchemes(Scheme).RequireAuthenticatedUser()
                    .RequireAssertion(c => Caller(c.User) is { } who && who.Role >= role));
        });
        return services;
    }

    /// <summary>Endpoints (or a group) that need at least <paramref name="role"/>: 401 without a valid token, 403 with too small a role.</summary>
    public static T RequireRole<T>(this T builder, Role role) where T : IEndpointConventionBuilder => builder.RequireAuthorization(Policy(role));

    /// <summary>
    /// The JSON API's rule: reading needs <see cref="Role.Reader"/>, anything that changes something (POST, PUT, PATCH,
    /// DELETE) <see cref="Role.Operator"/>, decided from each endpoint's HTTP method once every convention has run.
    /// </summary>
    public static RouteGroupBuilder RequireReaderChangesOperator(this RouteGroupBuilder group)
    {
        group.RequireRole(Role.Reader);
        ((IEndpointConventionBuilder)group).Finally(endpoint =>
        {
            if (endpoint.Metadata.OfType<Microsoft.AspNetCore.Routing.HttpMethodMetadata>().Any(m => m.HttpMethods.Any(h => h is not ("GET" or "HEAD"))))
                endpoint.Metadata.Add(new AuthorizeAttribute(Policy(Role.Operator)) { AuthenticationSchemes = Scheme });
        });
        return group;
    }

    private static string Policy(Role role) => "dpiqa-" + AccessTokens.RoleName(role);

    /// <summary>The verified identity of a request, or null when it is not authenticated.</summary>
    public static Submitter? Caller(ClaimsPrincipal user)
    {
        if (user.Identity is not { IsAuthenticated: true, Name: { } name } || !Enum.TryParse<Role>(user.FindFirstValue(RoleClaim), out var role)) return null;
        return new Submitter
        {
            Name = name, Role = role,
            ReadContainers = SecuritySettings.List(user.FindFirstValue(ReadClaim)), WriteContainers = SecuritySettings.List(user.FindFirstValue(WriteClaim)),
        };
    }

    private static ClaimsPrincipal Principal(Submitter who) => new(new ClaimsIdentity(
    [
        new Claim(ClaimTypes.Name, who.Name), new Claim(RoleClaim, who.Role.ToString()),
        new Claim(ReadClaim, string.Join(',', who.ReadContainers)), new Claim(WriteClaim, string.Join(',', who.WriteContainers)),
    ], Scheme));

    private sealed record SigningKey(byte[]? Key);

    private sealed class Handler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, SigningKey key, TimeProvider? clock = null)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            if (key.Key is null) return Task.FromResult(Success(CallGuard.Anonymous));
            var token = Token(Request.Headers.Authorization.ToString());
            if (token is null) return Task.FromResult(AuthenticateResult.NoResult());
            try
            {
                return Task.FromResult(Success(AccessTokens.Verify(key.Key, token, (clock ?? TimeProvider.System).GetUtcNow()).Identity));
            }
            catch (AccessRefusedException e)
            {
                return Task.FromResult(AuthenticateResult.Fail(e.Message)); // the reason, never the token
            }
        }

        private AuthenticateResult Success(Submitter who) => AuthenticateResult.Success(new AuthenticationTicket(Principal(who), TokenAuthentication.Scheme));

        /// <summary>The token of a bearer header, or the password of a basic one.</summary>
        private static string? Token(string header)
        {
            if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return header["Bearer ".Length..].Trim();
            if (!header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase)) return null;
            try
            {
                var pair = Encoding.UTF8.GetString(Convert.FromBase64String(header["Basic ".Length..].Trim()));
                return pair.IndexOf(':') is var colon and >= 0 ? pair[(colon + 1)..] : null;
            }
            catch (FormatException)
            {
                return null;
            }
        }

        protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
        {
            var result = await HandleAuthenticateOnceSafeAsync();
            Response.StatusCode = StatusCodes.Status401Unauthorized;
            // Two challenges, each its own header: a browser answers Basic with its prompt (the token as the password), scripts send Bearer.
            Response.Headers.WWWAuthenticate = new Microsoft.Extensions.Primitives.StringValues(["Basic realm=\"dpiqa\"", "Bearer"]);
            var reason = result.Failure?.Message ?? "refused: this request carries no token; send Authorization: Bearer TOKEN (a token from 'dpiqa token create')";
            await Response.WriteAsJsonAsync(new { error = reason });
        }

        protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
        {
            Response.StatusCode = StatusCodes.Status403Forbidden;
            await Response.WriteAsJsonAsync(new { error = $"refused: '{Context.User.Identity?.Name}' lacks the role this endpoint needs" });
        }
    }
}

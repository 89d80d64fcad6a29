using System.CommandLine;
using System.Globalization;
using DpIqa.Security;
using DpIqa.Storage;
using Microsoft.Extensions.Configuration;

namespace DpIqa.Client.Commands;

/// <summary>
/// <c>dpiqa token create</c>: a signed token for a client identity, for whoever holds the cluster's signing key
/// (<c>Security:SigningKeyFile</c>). The token goes to stdout alone (pipe it into a Secret or a file); what it grants
/// goes to stderr.
/// </summary>
internal static class TokenCommand
{
    public static Command Create()
    {
        var name = new Option<string>("--name") { Description = "Who the token is for (shown as the submitter of their jobs)", Required = true };
        var role = new Option<string>("--role") { Description = "reader (read jobs and schedules), operator (+ submit, cancel, schedules) or admin (+ models import/remove)", Required = true };
        role.AcceptOnlyFromAmong("reader", "operator", "admin");
        var containers = new Option<string[]>("--containers")
        {
            Description = "Containers this identity may read and write (comma separated or repeated; * for all the cluster allows)",
            AllowMultipleArgumentsPerToken = true,
        };
        var readContainers = new Option<string[]>("--read-containers")
        {
            Description = "Containers this identity may only read (comma separated or repeated)",
            AllowMultipleArgumentsPerToken = true,
        };
        var expires = new Option<string>("--expires") { Description = "Lifetime: 30d, 12h, 90m (default 30d)", DefaultValueFactory = _ => "30d" };
        var create = new Command("create", "Make a signed token for a client (needs the cluster's signing key, Security:SigningKeyFile)")
        {
            name, role, containers, readContainers, expires,
        };
        create.SetAction(parse =>
        {
            var settings = ClientSetup.Configuration().GetSection(SecuritySettings.Section).Get<SecuritySettings>() ?? new SecuritySettings();
            var key = AccessTokens.SigningKey(settings);
            var who = parse.GetValue(name)!.Trim();
            if (who.Length == 0 || who.Length > 64 || who.Any(char.IsControl))
                throw new ArgumentException("--name must be 1 to 64 printable characters");
            var write = Containers("--containers", parse.GetValue(containers));
            var read = Containers("--read-containers", parse.GetValue(readContainers));
            var lifetime = Lifetime(parse.GetValue(expires)!);
            var identity = new Submitter { Name = who, Role = AccessTokens.ParseRole(parse.GetValue(role)!)!.Value, ReadContainers = read, WriteContainers = write };
            var until = DateTimeOffset.UtcNow.Add(lifetime);
            Console.WriteLine(AccessTokens.Create(key, identity, until));
            Console.Error.WriteLine($"token for '{who}', role {AccessTokens.RoleName(identity.Role)}, "
                + $"read/write containers: {(write.Length == 0 ? "none" : string.Join(",", write))}, read-only containers: {(read.Length == 0 ? "none" : string.Join(",", read))}, "
                + $"expires {until:yyyy-MM-dd HH:mm} UTC");
            return ExitCodes.Ok;
        });
        return new Command("token", "Client identities: signed tokens with a role and the containers they may use") { create };
    }

    private static string[] Containers(string option, string[]? values)
    {
        var list = (values ?? []).SelectMany(v => SecuritySettings.List(v)).Distinct().ToArray();
        foreach (var c in list.Where(c => c != ContainerScopes.All))
            Locations.CheckBlobNames(Locations.Blob(c), option);
        return list;
    }

    /// <summary>30d, 12h, 90m: a whole number and a unit.</summary>
    internal static TimeSpan Lifetime(string text)
    {
        var t = text.Trim();
        if (t.Length >= 2 && int.TryParse(t[..^1], NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0)
        {
            var span = t[^1] switch { 'd' => TimeSpan.FromDays(n), 'h' => TimeSpan.FromHours(n), 'm' => TimeSpan.FromMinutes(n), _ => (TimeSpan?)null };
            if (span is { } s && s <= TimeSpan.FromDays(3660)) return s;
        }
        throw new ArgumentException($"--expires '{text}' is not a lifetime such as 30d, 12h or 90m (at most 10 years)");
    }
}

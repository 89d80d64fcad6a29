using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace DpIqa.Security;

/// <summary>
/// Client identities as signed tokens: <c>dpiqa1.PAYLOAD.SIGNATURE</c>, the payload base64url JSON (name, role,
/// containers, expiry), the signature HMAC-SHA256 of <c>dpiqa1.PAYLOAD</c> with the cluster's signing key. Whoever holds
/// the key makes tokens (<c>dpiqa token create</c>); silos verify them. A token is not encrypted: it names no secret,
/// only who it is for. No message here ever contains a token or the key.
/// </summary>
internal static class AccessTokens
{
    private const string Prefix = "dpiqa1.";

    /// <summary>Shortest signing key accepted, in bytes (HMAC-SHA256's block of security).</summary>
    public const int MinimumKeyBytes = 32;

    private sealed record Payload(
        [property: JsonPropertyName("name")] string Name,
        [property: JsonPropertyName("role")] string Role,
        [property: JsonPropertyName("read")] string[] Read,
        [property: JsonPropertyName("write")] string[] Write,
        [property: JsonPropertyName("exp")] long Expires);

    /// <summary>The key from <see cref="SecuritySettings"/> (file first); one line naming the key setting when it is missing or weak.</summary>
    public static byte[] SigningKey(SecuritySettings settings)
    {
        const string fileKey = $"{SecuritySettings.Section}:{nameof(SecuritySettings.SigningKeyFile)}", inlineKey = $"{SecuritySettings.Section}:{nameof(SecuritySettings.SigningKey)}";
        var (key, text) = !string.IsNullOrWhiteSpace(settings.SigningKeyFile)
            ? (fileKey, SettingFiles.ReadText(fileKey, settings.SigningKeyFile))
            : !string.IsNullOrWhiteSpace(settings.SigningKey) ? (inlineKey, settings.SigningKey)
            : throw SettingFiles.Invalid(fileKey, "is not set: name the file of the token signing key (openssl rand -base64 32 > signing.key)");
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(text.Trim());
        }
        catch (FormatException)
        {
            throw SettingFiles.Invalid(key, "does not hold base64 text: make the key with openssl rand -base64 32");
        }
        if (bytes.Length < MinimumKeyBytes)
            throw SettingFiles.Invalid(key, $"holds {bytes.Length} bytes; a signing key needs at least {MinimumKeyBytes} random bytes (openssl rand -base64 32)");
        return bytes;
    }

    public static string Create(byte[] key, Submitter identity, DateTimeOffset expires)
    {
        var payload = new Payload(identity.Name, RoleName(identity.Role), [.. identity.ReadContainers], [.. identity.WriteContainers], expires.ToUnixTimeSeconds());
        var body = Prefix + Base64Url(JsonSerializer.SerializeToUtf8Bytes(payload));
        return body + "." + Base64Url(Sign(key, body));
    }

    /// <summary>
    /// The identity a token stands for, or <see cref="AccessRefusedException"/> saying why not (no token, not one of
    /// ours, a signature that does not match, expired): each message names what to do, never the token.
    /// </summary>
    public static (Submitter Identity, DateTimeOffset Expires) Verify(byte[] key, string? token, DateTimeOffset now)
    {
        if (string.IsNullOrWhiteSpace(token))
            throw new AccessRefusedException("refused: this call carries no token; set Security:Token (or Security__Token) to a token from 'dpiqa token create'");
        var parts = token.Trim().Split('.');
        if (parts.Length != 3 || parts[0] + "." != Prefix)
            throw new AccessRefusedException("refused: Security:Token is not a dpiqa token; use one made by 'dpiqa token create'");
        var body = parts[0] + "." + parts[1];
        byte[] signature;
        Payload payload;
        try
        {
            signature = FromBase64Url(parts[2]);
            payload = JsonSerializer.Deserialize<Payload>(FromBase64Url(parts[1])) ?? throw new FormatException();
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            throw new AccessRefusedException("refused: Security:Token is damaged (not a whole dpiqa token); copy it again");
        }
        if (!CryptographicOperations.FixedTimeEquals(signature, Sign(key, body)))
            throw new AccessRefusedException("refused: Security:Token was not signed with this cluster's signing key; ask whoever holds the key for a new one (dpiqa token create)");
        var expires = DateTimeOffset.FromUnixTimeSeconds(payload.Expires);
        if (expires <= now)
            throw new AccessRefusedException($"refused: the token of '{payload.Name}' expired on {expires:yyyy-MM-dd HH:mm} UTC; ask for a new one (dpiqa token create)");
        if (ParseRole(payload.Role) is not { } role)
            throw new AccessRefusedException($"refused: the token of '{payload.Name}' names an unknown role '{payload.Role}'");
        return (new Submitter { Name = payload.Name, Role = role, ReadContainers = payload.Read, WriteContainers = payload.Write }, expires);
    }

    /// <summary>The role names users write and read: reader, operator, admin.</summary>
    public static string RoleName(Role role) => role.ToString().ToLowerInvariant();

    public static Role? ParseRole(string text) => text switch
    {
        "reader" => Role.Reader,
        "operator" => Role.Operator,
        "admin" => Role.Admin,
        _ => null,
    };

    private static byte[] Sign(byte[] key, string body) => HMACSHA256.HashData(key, Encoding.ASCII.GetBytes(body));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static byte[] FromBase64Url(string text)
    {
        var s = text.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(s.PadRight(s.Length + (4 - s.Length % 4) % 4, '='));
    }
}

using System.Text.RegularExpressions;

namespace DpIqa.Storage;

/// <summary>
/// Storage credentials (an account key, a SAS signature) live in the silos' configuration only. Job locations
/// that carry one are refused, and messages that echo a location or a storage error are redacted, so a
/// credential reaches no log line, error message, job status, summary or result file.
/// </summary>
internal static partial class Secrets
{
    public const string Mask = "REDACTED";

    /// <summary>The value of a SAS signature (<c>sig=</c>) or of an account or access key in a connection string.</summary>
    [GeneratedRegex(@"(?<=\b(?:sig|AccountKey|SharedAccessKey)=)[^&;\s'""<>]+", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex CredentialValue();

    public static string Redact(string text) => CredentialValue().Replace(text, Mask);

    public static bool Carries(string text) => CredentialValue().IsMatch(text);
}

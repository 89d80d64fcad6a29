using Microsoft.Extensions.Options;

namespace DpIqa.Security;

/// <summary>Reads the files security settings name; a missing or unreadable one is one line naming its key.</summary>
internal static class SettingFiles
{
    /// <summary>A failed check of a security setting, shown as one line naming its key (exit 2, as any bad setting).</summary>
    public static OptionsValidationException Invalid(string key, string problem) =>
        new(key, typeof(SecuritySettings), [$"{key} {problem}"]);

    public static string ReadText(string key, string? path)
    {
        if (string.IsNullOrWhiteSpace(path)) throw Invalid(key, "is not set");
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Invalid(key, $"names '{path}', which cannot be read ({Reason(e)})");
        }
    }

    public static byte[] ReadBytes(string key, string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Invalid(key, $"names '{path}', which cannot be read ({Reason(e)})");
        }
    }

    private static string Reason(Exception e) => e switch
    {
        FileNotFoundException or DirectoryNotFoundException => "no such file",
        UnauthorizedAccessException => "permission denied",
        _ => e.Message.Split('\n')[0].TrimEnd('.'),
    };
}

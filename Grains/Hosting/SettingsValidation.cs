using DpIqa.Imaging;
using DpIqa.Inference;
using DpIqa.Jobs;
using DpIqa.Models;
using DpIqa.Scoring;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace DpIqa.Hosting;

/// <summary>
/// The checks on a silo's settings, run when the host starts (<c>ValidateOnStart</c>): a bad value stops the silo
/// (or <c>dpiqa score</c>'s embedded one) with one line naming the key, instead of being clamped or ignored later.
/// The defaults live in the options classes; these only say which values are allowed.
/// </summary>
public static class SettingsValidation
{
    /// <summary>Binds <typeparamref name="T"/> to <paramref name="section"/> once, checked by <paramref name="check"/> at start.</summary>
    internal static void Add<T>(IServiceCollection services, IConfiguration configuration, string section, Action<Checker, T> check) where T : class
    {
        services.AddOptions<T>().Bind(configuration.GetSection(section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<T>>(new Validator<T>(section, check));
    }

    /// <summary>The <c>Models</c> section: bound as the others, plus the per-model settings <c>Models:NAME:*</c>.</summary>
    internal static void AddModels(IServiceCollection services, IConfiguration configuration)
    {
        Add<ModelOptions>(services, configuration, ModelOptions.Section, Models);
        services.AddOptions<ModelOptions>().Configure(o => ModelSettings.Read(configuration.GetSection(ModelOptions.Section), o));
    }

    /// <summary>The checks for the sections <see cref="SiloSetup.AddDpIqa"/> binds.</summary>
    internal static void Inference(Checker c, InferenceOptions o)
    {
        // Configuration only gives a named device (InferenceDeviceConverter); code may set any number.
        if (!Enum.IsDefined(o.Device))
            c.Fail($"{nameof(o.Device)} must be one of {string.Join(", ", InferenceDeviceConverter.Names)} (got '{o.Device}')");
        c.AtLeast(nameof(o.DeviceId), o.DeviceId, 0);
        c.AtLeast(nameof(o.MaxBatch), o.MaxBatch, 0, "0 = auto");
        c.AtLeast(nameof(o.MaxWaitMs), o.MaxWaitMs, 0);
        c.AtLeast(nameof(o.QueueCapacity), o.QueueCapacity, 1);
        c.AtLeast(nameof(o.ConcurrentRuns), o.ConcurrentRuns, 0, "0 = auto");
        c.AtLeast(nameof(o.IntraOpThreads), o.IntraOpThreads, 0, "0 = auto");
        c.AtLeast(nameof(o.IdleUnloadSeconds), o.IdleUnloadSeconds, 1);
        c.AtLeast(nameof(o.MemoryBudgetMiB), o.MemoryBudgetMiB, 0, "0 = what the machine or container has available");
    }

    internal static void Scoring(Checker c, ScoringOptions o)
    {
        c.AtLeast(nameof(o.ConcurrentShards), o.ConcurrentShards, 1);
        c.AtLeast(nameof(o.DecodeThreads), o.DecodeThreads, 0, "0 = one per core");
        c.AtLeast(nameof(o.ImagesInFlight), o.ImagesInFlight, 1);
        c.AtLeast(nameof(o.PollIntervalMs), o.PollIntervalMs, 1);
        c.AtLeast(nameof(o.DrainSeconds), o.DrainSeconds, 0);
    }

    internal static void Imaging(Checker c, ImageLimits o)
    {
        c.AtLeast(nameof(o.MaxPixels), o.MaxPixels, 1);
        c.AtLeast(nameof(o.MaxBytes), o.MaxBytes, 1);
    }

    internal static void Jobs(Checker c, JobOptions o)
    {
        c.AtLeast(nameof(o.LeaseSeconds), o.LeaseSeconds, 1);
        c.AtLeast(nameof(o.SaveIntervalMs), o.SaveIntervalMs, 0);
        c.AtLeast(nameof(o.MaxShardSize), o.MaxShardSize, 1);
        c.AtLeast(nameof(o.ItemListWritesInFlight), o.ItemListWritesInFlight, 1);
    }

    internal static void Models(Checker c, ModelOptions o)
    {
        if (string.IsNullOrWhiteSpace(o.Default)) c.Fail($"{nameof(o.Default)} must name a model (got an empty value)");
        foreach (var error in o.SettingErrors) c.Fail(error);
    }

    /// <summary>
    /// The one line for a bad setting, or null when <paramref name="exception"/> is not about one: a failed check,
    /// or a value that does not convert (Inference:MaxBatch=abc).
    /// </summary>
    public static string? Describe(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            // A value our converter refused (Inference:Device=gpu): the binder's wrapper names the key, ours what is allowed.
            if (e is InvalidOperationException && e.InnerException is SettingValueException refused && KeyOf(e.Message) is { } key)
                return $"invalid setting: {key} {refused.Message}; fix it in dpiqa.json/appsettings.json or the environment (Section__Key)";
            if (e is OptionsValidationException validation)
                return $"invalid setting: {string.Join("; ", validation.Failures)}; fix it in dpiqa.json/appsettings.json or the environment (Section__Key)";
            if (e is InvalidOperationException && NotConverted(e.Message) is { } notConverted)
                return $"invalid setting: {notConverted}; fix it in dpiqa.json/appsettings.json or the environment (Section__Key)";
        }
        return null;
    }

    /// <summary>
    /// "KEY must be a whole number (got 'eight')" for the configuration binder's "Failed to convert configuration value
    /// 'eight' at 'KEY' to type 'System.Int32'.", or null for any other message. Our words, not the binder's: the key,
    /// what the value must be, and the value as written.
    /// </summary>
    internal static string? NotConverted(string bindingMessage)
    {
        const string prefix = "Failed to convert configuration value '", at = "' at '", to = "' to type '";
        if (!bindingMessage.StartsWith(prefix, StringComparison.Ordinal)) return null;
        // The value comes first and may hold any character: find the key and the type from the end.
        int typeStart = bindingMessage.LastIndexOf(to, StringComparison.Ordinal);
        if (typeStart < prefix.Length) return null;
        int keyStart = bindingMessage.LastIndexOf(at, typeStart, StringComparison.Ordinal);
        if (keyStart < prefix.Length) return null;
        var value = bindingMessage[prefix.Length..keyStart];
        var key = bindingMessage[(keyStart + at.Length)..typeStart];
        var type = bindingMessage[(typeStart + to.Length)..].TrimEnd('.').TrimEnd('\'');
        return $"{key} must be {Expected(type, value)} (got '{value}')";
    }

    /// <summary>What a value of <paramref name="type"/> (a full type name) looks like, in words.</summary>
    private static string Expected(string type, string value)
    {
        // A number too large for its type (Jobs:LeaseSeconds=99999999999) is a whole number too: say the range then.
        var unsigned = value.Trim().TrimStart('-', '+');
        bool digits = unsigned.Length > 0 && unsigned.All(char.IsAsciiDigit);
        return type switch
        {
            "System.Int32" => digits ? $"a whole number from {int.MinValue} to {int.MaxValue}" : "a whole number",
            "System.Int64" => digits ? $"a whole number from {long.MinValue} to {long.MaxValue}" : "a whole number",
            "System.Int16" or "System.Byte" or "System.UInt16" or "System.UInt32" or "System.UInt64" or "System.SByte" => "a whole number",
            "System.Double" or "System.Single" or "System.Decimal" => "a number (such as 0.5)",
            "System.Boolean" => "true or false",
            "System.TimeSpan" => "a duration such as 00:00:30 (hh:mm:ss)",
            _ => $"a value of type {type}",
        };
    }

    /// <summary>The key in the configuration binder's "Failed to convert configuration value at 'Section:Key' to type ..." message.</summary>
    private static string? KeyOf(string bindingMessage)
    {
        const string at = " at '";
        int start = bindingMessage.IndexOf(at, StringComparison.Ordinal);
        if (start < 0) return null;
        start += at.Length;
        int end = bindingMessage.IndexOf('\'', start);
        return end > start ? bindingMessage[start..end] : null;
    }

    /// <summary>Collects the failures of one section, each prefixed with <c>Section:</c>.</summary>
    internal sealed class Checker(string section)
    {
        public List<string> Failures { get; } = [];

        public void Fail(string message) => Failures.Add($"{section}:{message}");

        public void AtLeast(string key, long value, long minimum, string? note = null)
        {
            if (value < minimum) Fail($"{key} must be >= {minimum} (got {value}{(note is null ? "" : "; " + note)})");
        }
    }

    private sealed class Validator<T>(string section, Action<Checker, T> check) : IValidateOptions<T> where T : class
    {
        public ValidateOptionsResult Validate(string? name, T options)
        {
            var checker = new Checker(section);
            check(checker, options);
            return checker.Failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(checker.Failures);
        }
    }
}

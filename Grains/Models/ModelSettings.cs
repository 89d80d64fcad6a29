using System.Globalization;
using DpIqa.Inference;
using Microsoft.Extensions.Configuration;

namespace DpIqa.Models;

/// <summary>
/// Inference settings of one model, <c>Models:NAME:KEY</c> (e.g. <c>Models:dpiqa-teacher:MaxBatch=2</c>), over the
/// silo's <c>Inference:KEY</c>: a teacher and a student on one silo can run with different batches. Unset keys keep
/// the silo's value.
/// </summary>
public sealed record ModelSettings
{
    /// <summary>The keys a model may set, as <see cref="InferenceOptions"/> names them.</summary>
    public static readonly IReadOnlyList<string> Keys =
        [nameof(InferenceOptions.MaxBatch), nameof(InferenceOptions.ConcurrentRuns), nameof(InferenceOptions.IntraOpThreads), nameof(InferenceOptions.MaxWaitMs)];

    public int? MaxBatch { get; init; }
    public int? ConcurrentRuns { get; init; }
    public int? IntraOpThreads { get; init; }
    public int? MaxWaitMs { get; init; }

    /// <summary>The keys this model sets, for the log: "MaxBatch=2, ConcurrentRuns=1", or "none".</summary>
    public override string ToString()
    {
        var set = new[] { (nameof(MaxBatch), MaxBatch), (nameof(ConcurrentRuns), ConcurrentRuns), (nameof(IntraOpThreads), IntraOpThreads), (nameof(MaxWaitMs), MaxWaitMs) }
            .Where(p => p.Item2 is not null).Select(p => $"{p.Item1}={p.Item2}").ToList();
        return set.Count == 0 ? "none" : string.Join(", ", set);
    }

    /// <summary>
    /// Reads every <c>Models:NAME:*</c> section (a child of <c>Models</c> that has children and is not one of
    /// <see cref="ModelOptions"/>' own keys) into <paramref name="options"/>; what cannot be read goes to
    /// <see cref="ModelOptions.SettingErrors"/>, for the start-up check to report with the key.
    /// </summary>
    internal static void Read(IConfigurationSection models, ModelOptions options)
    {
        var own = typeof(ModelOptions).GetProperties().Select(p => p.Name).ToHashSet(StringComparer.OrdinalIgnoreCase);
        foreach (var section in models.GetChildren())
        {
            if (own.Contains(section.Key) || !section.GetChildren().Any()) continue;
            if (!ModelCatalog.NamePattern().IsMatch(section.Key))
            {
                options.SettingErrors.Add($"{section.Key} is not a model name (lower-case letters, digits, . _ -) and not a Models setting; per-model settings are Models:NAME:{string.Join("|", Keys)}");
                continue;
            }
            var values = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
            foreach (var setting in section.GetChildren())
            {
                var key = Keys.FirstOrDefault(k => string.Equals(k, setting.Key, StringComparison.OrdinalIgnoreCase));
                if (key is null)
                    options.SettingErrors.Add($"{section.Key}:{setting.Key} is not a per-model setting (one of {string.Join(", ", Keys)})");
                else if (!int.TryParse(setting.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
                    options.SettingErrors.Add($"{section.Key}:{key} must be a whole number (got '{setting.Value}')");
                else if (value < (key == nameof(MaxWaitMs) ? 0 : 1))
                    options.SettingErrors.Add($"{section.Key}:{key} must be >= {(key == nameof(MaxWaitMs) ? 0 : 1)} (got {value}; leave it out for the silo's Inference:{key})");
                else values[key] = value;
            }
            options.PerModel[section.Key] = new ModelSettings
            {
                MaxBatch = values.TryGetValue(nameof(MaxBatch), out var b) ? b : null,
                ConcurrentRuns = values.TryGetValue(nameof(ConcurrentRuns), out var r) ? r : null,
                IntraOpThreads = values.TryGetValue(nameof(IntraOpThreads), out var t) ? t : null,
                MaxWaitMs = values.TryGetValue(nameof(MaxWaitMs), out var w) ? w : null,
            };
        }
    }
}

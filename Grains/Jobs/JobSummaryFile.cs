using System.Text.Json;
using System.Text.Json.Serialization;
using DpIqa.Statistics;

namespace DpIqa.Jobs;

/// <summary>
/// A job's summary (<see cref="IJobGrain.GetSummary"/>) and its summary.json, built from the job's record: written when
/// the job completes and again after its curation, in <see cref="Json"/>'s form.
/// </summary>
internal static class JobSummaryFile
{
    /// <summary>The JSON form of summary.json and of every <c>--json</c> output: snake_case names and enum values, indented.</summary>
    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    /// <summary>
    /// The summary of <paramref name="job"/> (which must have a spec). <paramref name="scoreRange"/> is the model's
    /// declared score range for the histograms; null uses the observed one (no score range is assumed).
    /// </summary>
    public static JobSummary Build(string jobId, JobRecord job, (double Lower, double Upper)? scoreRange) => new()
    {
        JobId = jobId,
        Model = job.Spec!.Model,
        ModelVersion = job.ModelVersion,
        State = job.State,
        All = SummaryBuilder.Build(job.All, scoreRange),
        ByFolder = job.ByFolder.OrderBy(f => f.Key, StringComparer.Ordinal).ToDictionary(f => f.Key, f => SummaryBuilder.Build(f.Value, scoreRange)),
        Message = job.Message,
        Curation = job.Curation,
        Evaluation = job.Evaluation,
        Cascade = job.Cascade,
        Reused = job.Reused,
        Drift = job.Drift,
        Actions = job.Actions,
        Preprocess = job.Spec.Preprocess ?? PreprocessPath.Exact,
        Duplicates = job.Duplicates,
        ModelLicence = job.ModelLicence,
        Direction = job.Spec.LowerIsBetter ? Models.ModelManifest.LowerIsBetter : Models.ModelManifest.HigherIsBetter,
    };

    /// <summary>The bytes of summary.json.</summary>
    public static byte[] Encode(JobSummary summary) => JsonSerializer.SerializeToUtf8Bytes(summary, Json);
}

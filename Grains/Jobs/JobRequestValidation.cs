using DpIqa.Models;

namespace DpIqa.Jobs;

/// <summary>
/// The checks on a submitted job before anything is stored: each refusal is an <see cref="ArgumentException"/> whose
/// message says what to change (the CLI prints it as one line, exit 2).
/// </summary>
internal static class JobRequestValidation
{
    /// <summary>Checks the request and resolves its model; the model comes back so the caller need not resolve it again.</summary>
    public static ResolvedModel Validate(JobSpec spec, int maxShardSize, ModelCatalog models)
    {
        CheckShape(spec, maxShardSize);
        var model = models.Resolve(spec.Model); // throws ArgumentException naming the models there are
        Curation.CurationLists.Validate(spec, model.Manifest);
        Cascade.CascadeRules.Validate(spec, models);
        if (spec.Preprocess is { } p && !Enum.IsDefined(p)) throw new ArgumentException($"unknown preprocessing path {p}: use exact or fast");
        if (spec.Preprocess == PreprocessPath.Fast && model.Native)
            throw new ArgumentException($"--preprocess fast reduces the image to about 1024 px, but model '{model.Manifest.Name}' scores every image at its own resolution: leave --preprocess out");
        return model;
    }

    /// <summary>The checks that need no model: shard size, output, result format.</summary>
    public static void CheckShape(JobSpec spec, int maxShardSize)
    {
        if (spec.ShardSize < 1 || spec.ShardSize > maxShardSize)
            throw new ArgumentException($"shard size {spec.ShardSize} is out of range: use 1 to {maxShardSize}");
        if (string.IsNullOrWhiteSpace(spec.Output)) throw new ArgumentException("no output given: name a folder for the results");
        if (!Enum.IsDefined(spec.Format)) throw new ArgumentException($"unknown result format {spec.Format}: use csv, jsonl or parquet");
    }
}

using DpIqa.Models;
using DpIqa.Storage;

namespace DpIqa.Jobs;

/// <summary>
/// The checks on a submitted job before anything is stored: each refusal is an <see cref="ArgumentException"/> whose
/// message says what to change (the CLI prints it as one line, exit 2; the HTTP API answers 400 with it). The CLI and
/// the API build the request with the same helpers below, so both refuse the same requests with the same words.
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

    /// <summary>
    /// A source or output as a user writes it: <c>container[/prefix]</c> in blob storage, <c>listing:container/file</c>
    /// (a blob listing file) or <c>listing:/PATH</c>, <c>listing:./PATH</c> (a local one), or a path on the silos' disks
    /// written <c>/PATH</c>, <c>./PATH</c>, <c>../PATH</c> or <c>file:PATH</c> (made absolute here). Blob names are checked here, before any request, so a bad name is one line saying the rule rather
    /// than the service's 400. <paramref name="option"/> names the flag (or field) for messages.
    /// </summary>
    public static string Location(string option, string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
            throw new ArgumentException($"{option} is empty: name a container[/prefix] in blob storage, listing:container/file.txt or file:PATH");
        if (value.StartsWith(Locations.ListingScheme, StringComparison.Ordinal))
        {
            var file = value[Locations.ListingScheme.Length..];
            // listing:/data/list.txt, listing:./list.txt: a local listing file; listing:container/file: one in blob storage.
            return Locations.ListingScheme + (Locations.IsLocalListingFile(file) ? Locations.LocalListingPath(file) : Location(option, file));
        }
        // /data/photos, ./photos, ../photos, file:PATH: a path on the silos' disks, by the rule listing: follows (a container
        // name never starts with '/' or '.'), rather than a blob container named after its first segment.
        if (Locations.IsLocalListingFile(value)) return Locations.LocalListingPath(value);
        var blob = value.StartsWith(Locations.BlobScheme, StringComparison.Ordinal) ? value : Locations.Blob(value);
        Locations.CheckBlobNames(blob, $"{option} {value}");
        return blob;
    }

    /// <summary>The quarantine container of <c>--quarantine</c>, its name checked; null stays null.</summary>
    public static string? Quarantine(string? container)
    {
        if (container is not null) Locations.CheckBlobNames(Locations.Blob(container), $"--quarantine {container}");
        return container;
    }

    /// <summary>The labels of <c>--labels FILE [--name-column C] [--mos-column C]</c>; <paramref name="location"/> resolves the file.</summary>
    public static LabelSource? ParseLabels(string? file, string? nameColumn, string? mosColumn, Func<string, string> location)
    {
        if (file is null)
        {
            if (nameColumn is not null || mosColumn is not null)
                throw new ArgumentException("--name-column and --mos-column describe a labels file: add --labels FILE");
            return null;
        }
        return new LabelSource { File = location(file), NameColumn = nameColumn, MosColumn = mosColumn };
    }

    /// <summary>The teacher cascade of <c>--cascade TEACHER --band W</c> (both or neither).</summary>
    public static CascadeRule? ParseCascade(string? teacher, double? band)
    {
        if (teacher is null && band is null) return null;
        if (teacher is null) throw new ArgumentException("--band sets the teacher cascade's band: add --cascade TEACHER");
        if (band is null) throw new ArgumentException("--cascade needs --band W: images scoring within W of the --reject-below threshold are rescored");
        return new CascadeRule { Teacher = teacher, Band = band.Value };
    }

    /// <summary>A result format by its name (csv, jsonl, parquet).</summary>
    public static ResultFormat Format(string value) =>
        value.ToLowerInvariant() is "csv" or "jsonl" or "parquet"
            ? Enum.Parse<ResultFormat>(value, ignoreCase: true)
            : throw new ArgumentException($"unknown result format {value}: use csv, jsonl or parquet");

    /// <summary>A preprocessing path by its name (exact, fast); null: the model's default.</summary>
    public static PreprocessPath? Preprocess(string? value) =>
        value is null ? null
        : value.ToLowerInvariant() is "exact" or "fast" ? Enum.Parse<PreprocessPath>(value, ignoreCase: true)
        : throw new ArgumentException($"unknown preprocessing path {value}: use exact or fast");
}

using System.CommandLine;
using DpIqa.Jobs;

namespace DpIqa.Client.Commands;

/// <summary>
/// The one binder of the flags that describe a job, shared by <c>score</c>, <c>job submit</c> and <c>schedule create</c>:
/// model, format, shard size (one default, <see cref="JobSpec.DefaultShardSize"/>), the curation rules and actions,
/// <c>--dedup</c>, and where the command has them <c>--incremental</c>, <c>--preprocess</c>, the labels and the cascade.
/// Each command adds its own sources and output; <see cref="Bind"/> fills the rest of the <see cref="JobSpec"/>, checking
/// names and combinations before anything connects (an invalid request is exit code 2).
/// </summary>
internal sealed class JobSpecOptions
{
    /// <summary>Which command the flags are for: the same flag, with the words and defaults that command needs.</summary>
    public enum For { Score, Submit, Schedule }

    private readonly For _command;

    public Option<string?> Model { get; }
    public Option<string> Format { get; }
    public Option<int> ShardSize { get; } = new("--shard-size") { Description = "Images per shard: the unit of leasing, retry and result files", DefaultValueFactory = _ => JobSpec.DefaultShardSize };
    public Option<double?> RejectBelow { get; } = new("--reject-below") { Description = "Curation, higher-is-better model: reject images scoring below X (reject.txt; the rest in keep.txt)" };
    public Option<double?> RejectAbove { get; } = new("--reject-above") { Description = "Curation, lower-is-better model (brisque): reject images scoring above X (reject.txt; the rest in keep.txt)" };
    public Option<double?> KeepTop { get; } = new("--keep-top-percent") { Description = "Curation: keep the best P percent (the lowest scores of a lower-is-better model)" };
    public Option<double?> RejectBottom { get; } = new("--reject-bottom-percent") { Description = "Curation: reject the worst P percent" };
    public Option<bool> PerFolder { get; } = new("--per-folder") { Description = "Curation: apply the percent rule within each top-level folder" };
    /// <summary>Blob actions: not on <c>score</c>, whose images are local files.</summary>
    public Option<bool>? Tag { get; }
    public Option<string?>? Quarantine { get; }
    /// <summary>Not on <c>schedule create</c>: a schedule's runs are always incremental.</summary>
    public Option<bool>? Incremental { get; }
    /// <summary>Not on <c>schedule create</c>.</summary>
    public Option<string?>? Preprocess { get; }
    /// <summary>Labels and cascade: not on <c>schedule create</c>.</summary>
    public JudgeOptions? Judge { get; }
    public DedupOptions Dedup { get; } = new();

    public JobSpecOptions(For command)
    {
        _command = command;
        Model = new Option<string?>("--model", "-m")
        {
            Description = command == For.Score
                ? $"Model name (default: Models:Default, normally {Models.Brisque.BrisqueModel.Name}; 'dpiqa models list' shows them)"
                : "Model name (default: the cluster's Models:Default)",
        };
        // Local results are read by people (csv); a cluster's by tools, at scale (parquet).
        Format = new Option<string>("--format", "-f")
        {
            Description = "Per-image results format: csv, parquet or jsonl",
            DefaultValueFactory = _ => command == For.Score ? "csv" : "parquet",
        };
        Format.AcceptOnlyFromAmong("csv", "parquet", "jsonl");
        if (command != For.Score)
        {
            Tag = new Option<bool>("--tag") { Description = "Tag each source blob: iqa_score, iqa_model, iqa_verdict, iqa_job (blob index tags, or metadata where unsupported)" };
            Quarantine = new Option<string?>("--quarantine") { Description = "Copy rejected blobs (server-side) into this container, same names; originals untouched" };
        }
        if (command != For.Schedule)
        {
            Incremental = new Option<bool>("--incremental")
            {
                Description = command == For.Score
                    ? "Reuse the scores of unchanged images (same size and mtime) from OUT/score-cache.jsonl"
                    : "Reuse cached scores of unchanged images (same ETag/Content-MD5 or size+mtime)",
            };
            Preprocess = CommonOptions.Preprocess();
            Judge = new JudgeOptions();
        }
    }

    public void AddTo(Command command)
    {
        foreach (var option in new Option?[] { Model, Format, ShardSize, RejectBelow, RejectAbove, KeepTop, RejectBottom, PerFolder, Tag, Quarantine, Incremental, Preprocess })
            if (option is not null) command.Options.Add(option);
        Dedup.AddTo(command);
        Judge?.AddTo(command);
    }

    /// <summary>
    /// <paramref name="spec"/> (its sources and output set by the command) with every flag here applied. <paramref name="location"/>
    /// turns a labels file into a location the job can read. A schedule's runs are always incremental.
    /// </summary>
    public JobSpec Bind(ParseResult parse, JobSpec spec, Func<string, string> location)
    {
        var quarantine = Quarantine is null ? null : JobRequestValidation.Quarantine(parse.GetValue(Quarantine));
        return Dedup.Apply(parse, spec) with
        {
            Model = parse.GetValue(Model) ?? "",
            Format = Enum.Parse<ResultFormat>(parse.GetValue(Format)!, ignoreCase: true),
            ShardSize = parse.GetValue(ShardSize),
            RejectBelow = parse.GetValue(RejectBelow),
            RejectAbove = parse.GetValue(RejectAbove),
            KeepTopPercent = parse.GetValue(KeepTop),
            RejectBottomPercent = parse.GetValue(RejectBottom),
            PerFolder = parse.GetValue(PerFolder),
            Tag = Tag is not null && parse.GetValue(Tag),
            Quarantine = quarantine,
            Incremental = _command == For.Schedule || (Incremental is not null && parse.GetValue(Incremental)),
            Preprocess = Preprocess is null ? null : CommonOptions.Preprocess(parse, Preprocess),
            Labels = Judge?.LabelSource(parse, location),
            Cascade = Judge?.CascadeRule(parse),
        };
    }
}

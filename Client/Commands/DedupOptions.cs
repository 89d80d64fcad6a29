using System.CommandLine;

namespace DpIqa.Client.Commands;

/// <summary><c>--dedup exact|near</c> and <c>--dedup-distance D</c>, shared by <c>score</c>, <c>job submit</c> and <c>schedule create</c>.</summary>
internal sealed class DedupOptions
{
    public Option<string?> Dedup { get; } = Create();

    public Option<int?> Distance { get; } = new("--dedup-distance")
    {
        Description = $"With --dedup near: the largest pHash Hamming distance (bits of 64) between copies (default {DpIqa.Dedup.JobDedup.DefaultDistance})",
    };

    private static Option<string?> Create()
    {
        var option = new Option<string?>("--dedup")
        {
            Description = "Group duplicates and keep the best-scoring copy of each, rejecting the others: exact (same bytes) or near (look alike: pHash)",
        };
        option.AcceptOnlyFromAmong("exact", "near");
        return option;
    }

    public void AddTo(Command command)
    {
        command.Options.Add(Dedup);
        command.Options.Add(Distance);
    }

    public JobSpec Apply(ParseResult parse, JobSpec spec)
    {
        var mode = parse.GetValue(Dedup) is { } value ? Enum.Parse<DedupMode>(value, ignoreCase: true) : (DedupMode?)null;
        var distance = parse.GetValue(Distance);
        if (distance is not null && mode != DedupMode.Near) throw new ArgumentException("--dedup-distance sets how far near-duplicates may be: add --dedup near");
        return spec with { Dedup = mode, DedupDistance = distance };
    }
}

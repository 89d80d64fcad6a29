using System.CommandLine;
using DpIqa.Evaluation;

namespace DpIqa.Client.Commands;

/// <summary>
/// The options <c>score</c> and <c>job submit</c> share for judging scores: <c>--labels</c> (with its column names)
/// and the teacher cascade (<c>--cascade TEACHER --band W</c>).
/// </summary>
internal sealed class JudgeOptions
{
    public Option<string?> Labels { get; } = new("--labels") { Description = "CSV of human labels (name, MOS) to evaluate the scores against: SRCC, KRCC, PLCC, RMSE in summary.json" };
    public Option<string?> NameColumn { get; } = NameColumnOption();
    public Option<string?> MosColumn { get; } = MosColumnOption();
    public Option<string?> Cascade { get; } = new("--cascade") { Description = "Teacher model: images scoring within --band of --reject-below are rescored by it, and its score decides" };
    public Option<double?> Band { get; } = new("--band") { Description = "Half-width of the cascade band around the --reject-below threshold, in the model's score units" };

    public static Option<string?> NameColumnOption() => new("--name-column")
    {
        Description = $"Labels column with the image file name or relative path (default: {string.Join(" or ", LabelSet.DefaultNameColumns.Select(c => $"'{c}'"))}: KonIQ-10k, SPAQ)",
    };

    public static Option<string?> MosColumnOption() => new("--mos-column") { Description = $"Labels column with the MOS (default '{LabelSet.DefaultMosColumn}')" };

    public void AddTo(Command command)
    {
        command.Options.Add(Labels);
        command.Options.Add(NameColumn);
        command.Options.Add(MosColumn);
        command.Options.Add(Cascade);
        command.Options.Add(Band);
    }

    /// <summary>The labels of the request; <paramref name="location"/> turns the value into a location the job can read.</summary>
    public LabelSource? LabelSource(ParseResult parse, Func<string, string> location)
    {
        var file = parse.GetValue(Labels);
        if (file is null)
        {
            if (parse.GetValue(NameColumn) is not null || parse.GetValue(MosColumn) is not null)
                throw new ArgumentException("--name-column and --mos-column describe a labels file: add --labels FILE");
            return null;
        }
        return new LabelSource { File = location(file), NameColumn = parse.GetValue(NameColumn), MosColumn = parse.GetValue(MosColumn) };
    }

    public CascadeRule? CascadeRule(ParseResult parse)
    {
        var teacher = parse.GetValue(Cascade);
        var band = parse.GetValue(Band);
        if (teacher is null && band is null) return null;
        if (teacher is null) throw new ArgumentException("--band sets the teacher cascade's band: add --cascade TEACHER");
        if (band is null) throw new ArgumentException("--cascade needs --band W: images scoring within W of the --reject-below threshold are rescored");
        return new CascadeRule { Teacher = teacher, Band = band.Value };
    }
}

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
    public Option<string?> Cascade { get; } = new("--cascade") { Description = "Teacher model: images scoring within --band of the --reject-below (or --reject-above) threshold are rescored by it, and its score decides" };
    public Option<double?> Band { get; } = new("--band") { Description = "Half-width of the cascade band around the --reject-below or --reject-above threshold, in the model's score units" };

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
    public LabelSource? LabelSource(ParseResult parse, Func<string, string> location) =>
        Jobs.JobRequestValidation.ParseLabels(parse.GetValue(Labels), parse.GetValue(NameColumn), parse.GetValue(MosColumn), location);

    public CascadeRule? CascadeRule(ParseResult parse) => Jobs.JobRequestValidation.ParseCascade(parse.GetValue(Cascade), parse.GetValue(Band));
}

using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using DpIqa.Evaluation;
using DpIqa.Jobs;
using DpIqa.Results;

namespace DpIqa.Client.Commands;

/// <summary><c>dpiqa eval RESULTS --labels FILE</c>: the evaluation protocol of IQA papers over results already written.</summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var results = new Argument<string>("results") { Description = "A results file (.csv, .jsonl, .parquet) or the --out folder of a run holding results.*" };
        var labels = new Option<string>("--labels") { Description = "CSV of human labels: a name column and a MOS column", Required = true };
        var nameColumn = JudgeOptions.NameColumnOption();
        var mosColumn = JudgeOptions.MosColumnOption();
        var output = new Option<string?>("--out", "-o") { Description = "Folder whose summary.json gets the \"evaluation\" (default: the results' folder)" };
        var json = CommonOptions.Json();
        var command = new Command("eval", "Evaluate scores against human labels: SRCC, KRCC, PLCC, and PLCC and RMSE after the 4-parameter logistic")
        {
            results, labels, nameColumn, mosColumn, output, json,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var resultsFile = ResultsFile(parse.GetValue(results)!);
            var labelsFile = Path.GetFullPath(parse.GetValue(labels)!);
            if (!File.Exists(labelsFile)) throw new ArgumentException($"labels file {labelsFile} does not exist: check the path given to --labels");
            var set = LabelSet.Parse(await File.ReadAllBytesAsync(labelsFile, cancellationToken), labelsFile, parse.GetValue(nameColumn), parse.GetValue(mosColumn));
            var rows = await ResultFiles.Decode(await File.ReadAllBytesAsync(resultsFile, cancellationToken), FormatOf(resultsFile));
            var evaluation = Evaluator.Evaluate(Evaluator.Match(rows, set), labelsFile, LowerIsBetter(rows));
            var folder = Path.GetFullPath(parse.GetValue(output) ?? Path.GetDirectoryName(resultsFile)!);
            var summaryFile = await WriteIntoSummary(folder, evaluation, cancellationToken);
            if (parse.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(new { evaluation, summary_file = summaryFile }, JobSummaryFile.Json));
            else
            {
                EvaluationTable.Print(evaluation);
                Console.WriteLine($"summary: {summaryFile}");
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>Whether the results' model is lower-is-better, as this machine's catalog knows it (built-in or imported); false when unknown.</summary>
    private static bool LowerIsBetter(IReadOnlyList<Results.ImageResult> rows)
    {
        if (rows.FirstOrDefault(r => !string.IsNullOrEmpty(r.Model))?.Model is not { } model) return false;
        try
        {
            return ModelsCommand.Catalog([]).Manifest(model).LowerBetter;
        }
        catch (ArgumentException)
        {
            return false; // a model this machine does not have: the note is left out
        }
    }

    /// <summary>The results file named, or the one results.* in the folder named.</summary>
    internal static string ResultsFile(string value)
    {
        var path = Path.GetFullPath(value);
        if (File.Exists(path)) return path;
        if (!Directory.Exists(path)) throw new ArgumentException($"{path} does not exist: give a results file or the --out folder of a run");
        var found = Enum.GetValues<ResultFormat>().Select(f => JobLayout.MergedResults(path, f)).Where(File.Exists).ToList();
        return found.Count switch
        {
            1 => found[0],
            0 => throw new ArgumentException($"{path} holds no results.csv, results.jsonl or results.parquet: give the results file itself"),
            _ => throw new ArgumentException($"{path} holds several results files ({string.Join(", ", found.Select(Path.GetFileName))}): give the one to use"),
        };
    }

    internal static ResultFormat FormatOf(string file) => Path.GetExtension(file).ToLowerInvariant() switch
    {
        ".csv" => ResultFormat.Csv,
        ".jsonl" => ResultFormat.Jsonl,
        ".parquet" => ResultFormat.Parquet,
        var other => throw new ArgumentException($"{file}: results files end in .csv, .jsonl or .parquet, not '{other}'"),
    };

    /// <summary>Sets "evaluation" in the folder's summary.json (a run's, kept otherwise as it is), or writes one holding only it.</summary>
    private static async Task<string> WriteIntoSummary(string folder, EvaluationResult evaluation, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(folder);
        var file = JobLayout.SummaryFile(folder);
        var root = File.Exists(file) ? JsonNode.Parse(await File.ReadAllTextAsync(file, cancellationToken)) as JsonObject : null;
        root ??= new JsonObject();
        root["evaluation"] = JsonSerializer.SerializeToNode(evaluation, JobSummaryFile.Json);
        var temporary = file + ".tmp";
        await File.WriteAllTextAsync(temporary, root.ToJsonString(JobSummaryFile.Json), cancellationToken);
        File.Move(temporary, file, overwrite: true); // written whole: a reader never sees half a summary
        return file;
    }
}

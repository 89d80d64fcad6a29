using System.Globalization;

namespace DpIqa.Client;

/// <summary>The evaluation against labels as a person reads it.</summary>
internal static class EvaluationTable
{
    public static void Print(EvaluationResult e)
    {
        Console.WriteLine();
        Console.WriteLine($"evaluation against {e.Labels}: {e.Images} images matched; unmatched: {e.ResultsUnmatched} results, {e.LabelsUnmatched} labels; " +
            $"{e.LabelledFailed} labelled images failed");
        var rows = new List<(string, string)>
        {
            ("SRCC", F(e.Srcc)),
            ("KRCC (tau-b)", F(e.Krcc)),
            ("PLCC", F(e.Plcc)),
            ("PLCC (logistic)", F(e.PlccLogistic)),
            ("RMSE (logistic)", F(e.RmseLogistic)),
            ("n", e.Images.ToString(CultureInfo.InvariantCulture)),
        };
        foreach (var (name, value) in rows) Console.WriteLine($"  {name,-16} {value,10}");
        if (e.Note is not null) Console.WriteLine($"note: {e.Note}");
    }

    private static string F(double? v) => v is { } x ? x.ToString("F4", CultureInfo.InvariantCulture) : "-";
}

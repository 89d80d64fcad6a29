using System.Globalization;
using ScottPlot;

namespace DpIqa.Client.Reports;

/// <summary>The report's plots, drawn with ScottPlot 5 (through SkiaSharp) as PNG bytes.</summary>
internal static class Plots
{
    private const int Width = 900, Height = 420;
    private static readonly Color First = new(31, 119, 180), Second = new(255, 127, 14);

    /// <summary>One or two score histograms over common bins (two: overlaid, half transparent).</summary>
    public static byte[] Histogram(IReadOnlyList<(string Name, IReadOnlyList<double> Scores)> series, int bins = 40)
    {
        var plot = new Plot();
        var all = series.SelectMany(s => s.Scores).ToList();
        double lower = all.Min(), upper = all.Max();
        if (upper == lower) { lower -= 0.5; upper += 0.5; } // one value: a single visible bin around it
        double width = (upper - lower) / bins;
        for (int k = 0; k < series.Count; k++)
        {
            var counts = new double[bins];
            foreach (var s in series[k].Scores) counts[Math.Min(bins - 1, (int)((s - lower) / width))]++;
            var color = (k == 0 ? First : Second).WithAlpha(series.Count > 1 ? 0.55 : 0.9);
            var bars = Enumerable.Range(0, bins).Select(i => new Bar
            {
                Position = lower + (i + 0.5) * width,
                Value = counts[i],
                Size = width,
                FillColor = color,
                LineWidth = 0,
            }).ToList();
            var plottable = plot.Add.Bars(bars);
            if (series.Count > 1) plottable.LegendText = $"{series[k].Name} (n = {series[k].Scores.Count})";
        }
        plot.Axes.Margins(bottom: 0);
        plot.XLabel("score");
        plot.YLabel("images");
        plot.Title(series.Count > 1 ? "Score distributions" : $"Score distribution (n = {series[0].Scores.Count})");
        if (series.Count > 1) plot.ShowLegend();
        return plot.GetImageBytes(Width, Height, ImageFormat.Png);
    }

    /// <summary>A box per folder: whiskers at min and max, box from p25 to p75, line at the median.</summary>
    public static byte[] FolderBoxes(IReadOnlyList<(string Folder, IReadOnlyList<double> Scores)> folders)
    {
        var plot = new Plot();
        var boxes = new List<Box>();
        for (int i = 0; i < folders.Count; i++)
        {
            var sorted = folders[i].Scores.Order().ToArray();
            boxes.Add(new Box
            {
                Position = i,
                WhiskerMin = sorted[0],
                BoxMin = Percentile(sorted, 25),
                BoxMiddle = Percentile(sorted, 50),
                BoxMax = Percentile(sorted, 75),
                WhiskerMax = sorted[^1],
                FillColor = First.WithAlpha(0.6),
            });
        }
        plot.Add.Boxes(boxes);
        Labels(plot, folders.Select(f => $"{f.Folder} ({f.Scores.Count})").ToArray());
        plot.YLabel("score");
        plot.Title("Scores per folder (min, p25, median, p75, max)");
        return plot.GetImageBytes(Width, Height + 60, ImageFormat.Png);
    }

    /// <summary>Error records by kind.</summary>
    public static byte[] ErrorKinds(IReadOnlyList<(string Kind, long Count)> kinds)
    {
        var plot = new Plot();
        var bars = kinds.Select((k, i) => new Bar { Position = i, Value = k.Count, FillColor = new Color(214, 39, 40), Size = 0.7 }).ToList();
        plot.Add.Bars(bars);
        plot.Axes.Margins(bottom: 0); // before the labels: it would undo their x limits
        Labels(plot, kinds.Select(k => $"{k.Kind} ({k.Count})").ToArray());
        plot.YLabel("images");
        plot.Title("Error records by kind");
        return plot.GetImageBytes(Width, Height, ImageFormat.Png);
    }

    /// <summary>Score against MOS, with the fitted logistic curve when there is one.</summary>
    public static byte[] ScoreVsMos(IReadOnlyList<double> scores, IReadOnlyList<double> mos, double[]? logistic, string caption)
    {
        var plot = new Plot();
        var points = plot.Add.ScatterPoints(scores.ToArray(), mos.ToArray());
        points.Color = First.WithAlpha(0.6);
        points.MarkerSize = 5;
        points.LegendText = "images";
        if (logistic is not null)
        {
            double lower = scores.Min(), upper = scores.Max();
            var xs = Enumerable.Range(0, 201).Select(i => lower + (upper - lower) * i / 200).ToArray();
            var line = plot.Add.ScatterLine(xs, xs.Select(x => Evaluation.LogisticFit.Evaluate(logistic, x)).ToArray());
            line.Color = Second;
            line.LineWidth = 2.5f;
            line.LegendText = "4-parameter logistic fit";
            plot.ShowLegend();
        }
        plot.XLabel("score");
        plot.YLabel("MOS");
        plot.Title(caption);
        return plot.GetImageBytes(Width, Height + 80, ImageFormat.Png);
    }

    private static void Labels(Plot plot, string[] labels)
    {
        var positions = Enumerable.Range(0, labels.Length).Select(i => (double)i).ToArray();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(positions, labels);
        plot.Axes.Bottom.TickLabelStyle.Rotation = 45;
        plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleLeft;
        plot.Axes.Bottom.MinimumSize = 90; // room for the rotated names
        plot.Axes.SetLimitsX(-0.75, Math.Max(labels.Length, 6) - 0.25); // a few bars stay bar-shaped rather than filling the width
    }

    /// <summary>NumPy's default percentile (linear between order statistics), as summary.json defines them.</summary>
    internal static double Percentile(double[] sorted, double p)
    {
        double rank = p / 100 * (sorted.Length - 1);
        int below = (int)Math.Floor(rank);
        int above = Math.Min(below + 1, sorted.Length - 1);
        return sorted[below] + (sorted[above] - sorted[below]) * (rank - below);
    }

    internal static string Number(double v) => v.ToString(v == 0 || Math.Abs(v) is >= 1e-3 and < 1e7 ? "F4" : "G5", CultureInfo.InvariantCulture);
}

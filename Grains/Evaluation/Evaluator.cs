using DpIqa.Results;

namespace DpIqa.Evaluation;

/// <summary>Scores matched to labels: the pairs every figure is computed on, and what did not match on either side.</summary>
internal sealed class MatchedPairs(LabelSet labels)
{
    private readonly bool[] _used = new bool[labels.Names.Count];

    public List<string> Paths { get; } = [];
    public List<double> Scores { get; } = [];
    public List<double> Mos { get; } = [];
    public long ResultsUnmatched { get; set; }
    public long LabelsUnmatched { get; set; }
    public long LabelledFailed { get; set; }
    /// <summary>Results whose file name matched a label another result had already taken.</summary>
    public long Ambiguous { get; set; }

    /// <summary>Pairs each result with its label (each label used once); call for each result file in turn.</summary>
    public void Add(IEnumerable<ImageResult> results)
    {
        foreach (var r in results)
        {
            int i = labels.Find(r.Path);
            if (i < 0) { ResultsUnmatched++; continue; }
            if (_used[i]) { ResultsUnmatched++; Ambiguous++; continue; }
            _used[i] = true;
            if (r.Score is not { } score) { LabelledFailed++; continue; }
            Paths.Add(r.Path);
            Scores.Add(score);
            Mos.Add(labels.Mos[i]);
        }
        LabelsUnmatched = _used.Count(u => !u);
    }
}

/// <summary>The evaluation protocol of IQA papers over a job's results and a labels file.</summary>
internal static class Evaluator
{
    /// <summary>Pairs each result with its label (each label used once).</summary>
    public static MatchedPairs Match(IEnumerable<ImageResult> results, LabelSet labels)
    {
        var pairs = new MatchedPairs(labels);
        pairs.Add(results);
        return pairs;
    }

    /// <summary>
    /// SRCC, KRCC, PLCC, and PLCC and RMSE after the 4-parameter logistic. Throws <see cref="ArgumentException"/> (saying
    /// what to do) when fewer than 2 images matched or the scores or labels are all equal: correlations are then
    /// undefined, and a NaN in summary.json would be read as a figure.
    /// </summary>
    public static EvaluationResult Evaluate(MatchedPairs pairs, string labelsFile, bool lowerIsBetter = false)
    {
        int n = pairs.Scores.Count;
        if (n < 2)
            throw new ArgumentException($"{n} image(s) matched a label in {labelsFile} ({pairs.ResultsUnmatched} results and {pairs.LabelsUnmatched} labels unmatched): " +
                "correlations need at least 2; check that the name column holds the images' file names or relative paths");
        if (pairs.Scores.All(s => s == pairs.Scores[0]))
            throw new ArgumentException($"all {n} matched images have the same score ({pairs.Scores[0]}): correlations with MOS are undefined; check the model and the images");
        if (pairs.Mos.All(m => m == pairs.Mos[0]))
            throw new ArgumentException($"all {n} matched labels in {labelsFile} have the same MOS ({pairs.Mos[0]}): correlations are undefined; check the MOS column");

        var notes = new List<string>();
        if (lowerIsBetter) notes.Add("the model is lower-is-better: SRCC, KRCC and PLCC are negative when its scores agree with the MOS");
        if (pairs.Ambiguous > 0) notes.Add($"{pairs.Ambiguous} results share a file name with an earlier result and were left unmatched: label them by relative path");
        double? plccLogistic = null, rmse = null;
        double[]? beta = null;
        if (n >= LogisticFit.MinimumPoints)
        {
            beta = LogisticFit.Fit(pairs.Scores, pairs.Mos);
            var fitted = pairs.Scores.Select(s => LogisticFit.Evaluate(beta, s)).ToList();
            rmse = IqaMetrics.Rmse(pairs.Mos, fitted);
            if (fitted.All(f => f == fitted[0])) notes.Add("the logistic fit is flat: PLCC after the fit is undefined");
            else plccLogistic = IqaMetrics.Pearson(fitted, pairs.Mos);
        }
        else notes.Add($"the logistic fit needs at least {LogisticFit.MinimumPoints} images: PLCC and RMSE after it are left out");

        return new EvaluationResult
        {
            Labels = labelsFile,
            Images = n,
            ResultsUnmatched = pairs.ResultsUnmatched,
            LabelsUnmatched = pairs.LabelsUnmatched,
            LabelledFailed = pairs.LabelledFailed,
            Srcc = IqaMetrics.Spearman(pairs.Scores, pairs.Mos),
            Krcc = IqaMetrics.KendallTauB(pairs.Scores, pairs.Mos),
            Plcc = IqaMetrics.Pearson(pairs.Scores, pairs.Mos),
            PlccLogistic = plccLogistic,
            RmseLogistic = rmse,
            Logistic = beta,
            Note = notes.Count > 0 ? string.Join("; ", notes) : null,
            Direction = lowerIsBetter ? Models.ModelManifest.LowerIsBetter : Models.ModelManifest.HigherIsBetter,
        };
    }
}

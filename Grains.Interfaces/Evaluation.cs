namespace DpIqa;

/// <summary>
/// A labels file: a CSV with a name column (file name or path relative to the source) and a MOS column. Column names
/// default to KonIQ-10k's (<c>image_name</c>, <c>MOS</c>) and SPAQ's (<c>Image name</c>, <c>MOS</c>).
/// </summary>
[GenerateSerializer, Alias("dpiqa.LabelSource")]
public sealed record LabelSource
{
    /// <summary>Where the CSV is: a local path, <c>container/blob</c> in blob storage, or a path on the silos' disks.</summary>
    [Id(0)] public required string File { get; init; }
    /// <summary>The name column (null: <c>image_name</c> or <c>Image name</c>, whichever the file has).</summary>
    [Id(1)] public string? NameColumn { get; init; }
    /// <summary>The MOS column (null: <c>MOS</c>).</summary>
    [Id(2)] public string? MosColumn { get; init; }
}

/// <summary>How well scores agree with human labels, as IQA papers report it (written to summary.json as "evaluation").</summary>
[GenerateSerializer, Alias("dpiqa.EvaluationResult")]
public sealed record EvaluationResult
{
    /// <summary>The labels file.</summary>
    [Id(0)] public required string Labels { get; init; }
    /// <summary>Images with both a score and a label: the n of every figure below.</summary>
    [Id(1)] public long Images { get; init; }
    /// <summary>Result rows (scored or failed) whose name matched no label.</summary>
    [Id(2)] public long ResultsUnmatched { get; init; }
    /// <summary>Labels that matched no result row.</summary>
    [Id(3)] public long LabelsUnmatched { get; init; }
    /// <summary>Labels whose image has an error record instead of a score (not in <see cref="Images"/>).</summary>
    [Id(4)] public long LabelledFailed { get; init; }
    /// <summary>Spearman's rank correlation (scipy.stats.spearmanr).</summary>
    [Id(5)] public double Srcc { get; init; }
    /// <summary>Kendall's tau-b (scipy.stats.kendalltau).</summary>
    [Id(6)] public double Krcc { get; init; }
    /// <summary>Pearson's correlation of raw scores and MOS (scipy.stats.pearsonr).</summary>
    [Id(7)] public double Plcc { get; init; }
    /// <summary>Pearson's correlation of the logistic-mapped scores and MOS (null when the fit needs more images).</summary>
    [Id(8)] public double? PlccLogistic { get; init; }
    /// <summary>RMSE between the logistic-mapped scores and MOS, in MOS units.</summary>
    [Id(9)] public double? RmseLogistic { get; init; }
    /// <summary>β1..β4 of f(x) = β2 + (β1 − β2) / (1 + exp(−(x − β3) / |β4|)).</summary>
    [Id(10)] public double[]? Logistic { get; init; }
    /// <summary>Why a figure is missing, or what the matching could not resolve.</summary>
    [Id(11)] public string? Note { get; init; }
    /// <summary>
    /// The direction of the scores evaluated: <c>higher-is-better</c> or <c>lower-is-better</c>. The correlations are of
    /// the raw scores with the MOS (higher MOS = better), so for a lower-is-better model (BRISQUE) agreement is NEGATIVE
    /// SRCC, KRCC and PLCC; the logistic fit takes either sign, so PLCC after it is positive when the model agrees.
    /// </summary>
    [Id(12)] public string? Direction { get; init; }
}

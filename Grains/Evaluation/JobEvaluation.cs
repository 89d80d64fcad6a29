using DpIqa.Cascade;
using DpIqa.Results;
using DpIqa.Storage;

namespace DpIqa.Evaluation;

/// <summary>What a job works out from its results once it completed: agreement with its labels, and the cascade's counts.</summary>
internal static class JobEvaluation
{
    /// <summary>Reads and parses the labels file; a missing or malformed one is an <see cref="ArgumentException"/> saying what to fix.</summary>
    public static async Task<LabelSet> ReadLabels(ObjectStore store, LabelSource source, CancellationToken cancellationToken = default)
    {
        byte[] content;
        try
        {
            content = await store.Read(source.File, cancellationToken);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or Azure.RequestFailedException { Status: 404 })
        {
            throw new ArgumentException($"labels file {source.File} does not exist: check the path given to --labels");
        }
        return LabelSet.Parse(content, source.File, source.NameColumn, source.MosColumn);
    }

    /// <summary>
    /// Reads the counted result files once and computes the evaluation (if the job has labels) and the cascade counts
    /// (if it has a cascade). An evaluation that cannot be computed (e.g. nothing matched) is a note, not a failed job.
    /// </summary>
    public static async Task<(EvaluationResult? Evaluation, CascadeResult? Cascade, string? Note)> Run(
        ObjectStore store, JobSpec spec, IReadOnlyList<string> resultFiles, double threshold, CancellationToken cancellationToken)
    {
        if (spec.Labels is null && spec.Cascade is null) return (null, null, null);
        LabelSet? labels = null;
        string? note = null;
        try
        {
            if (spec.Labels is not null) labels = await ReadLabels(store, spec.Labels, cancellationToken);
        }
        catch (ArgumentException e)
        {
            note = $"evaluation not possible: {e.Message}"; // checked at submit; the file changed or vanished since
        }
        var pairs = labels is null ? null : new MatchedPairs(labels);
        var cascade = spec.Cascade is null ? null : new CascadeResult { Teacher = spec.Cascade.Teacher };
        foreach (var file in resultFiles)
        {
            var rows = await ResultFiles.Decode(await JobLayout.ReadShardFile(store, file, cancellationToken), spec.Format);
            pairs?.Add(rows);
            if (cascade is not null)
            {
                var c = CascadeRules.Count(cascade.Teacher, rows, threshold, spec.LowerIsBetter);
                cascade = cascade with { Rescored = cascade.Rescored + c.Rescored, ChangedToKeep = cascade.ChangedToKeep + c.ChangedToKeep, ChangedToReject = cascade.ChangedToReject + c.ChangedToReject };
            }
        }
        if (pairs is null) return (null, cascade, note);
        try
        {
            return (Evaluator.Evaluate(pairs, labels!.File, spec.LowerIsBetter), cascade, null);
        }
        catch (ArgumentException e)
        {
            return (null, cascade, $"evaluation against {labels!.File} not possible: {e.Message}");
        }
    }
}

using System.Globalization;
using DpIqa.Models;
using DpIqa.Results;

namespace DpIqa.Cascade;

/// <summary>
/// The teacher cascade: the job's model scores every image; an image whose score lies within the band
/// [threshold − W, threshold + W] of the <c>--reject-below</c> (or, lower-is-better, <c>--reject-above</c>) threshold is scored again by the teacher (on the same
/// worker, from the same preprocessed pixels), and the teacher's score decides keep or reject. The two models need not
/// share a score scale: the band is in the job's model's units and the threshold applies to whichever score decides.
/// </summary>
internal static class CascadeRules
{
    /// <summary>Refuses a cascade without a threshold rule, a band that is not a positive number, or an unknown teacher.</summary>
    public static void Validate(JobSpec spec, ModelCatalog models)
    {
        if (spec.Cascade is not { } cascade) return;
        if (Curation.CurationLists.RejectThreshold(spec) is null)
            throw new ArgumentException("--cascade needs a threshold rule: add --reject-below X (--reject-above X for a lower-is-better model; images within --band of X are rescored by the teacher)");
        if (!double.IsFinite(cascade.Band) || cascade.Band <= 0)
            throw new ArgumentException($"--band {cascade.Band.ToString(CultureInfo.InvariantCulture)} is not a positive number: give the half-width of the band around the threshold, e.g. --band 0.05");
        if (string.IsNullOrWhiteSpace(cascade.Teacher)) throw new ArgumentException("--cascade names no model: give a model from 'dpiqa models list'");
        if (cascade.Teacher == spec.Model) throw new ArgumentException($"--cascade {cascade.Teacher} is the job's own model: name a different (teacher) model");
        var teacher = models.Resolve(cascade.Teacher).Manifest; // throws ArgumentException naming the models there are
        var student = models.Resolve(spec.Model).Manifest;
        // The teacher rescores the student's preprocessed pixels: a model computed from the full-size image has none to share.
        if (student.Preprocessing == ModelManifest.NativeGrayPreprocessing || teacher.Preprocessing == ModelManifest.NativeGrayPreprocessing)
            throw new ArgumentException($"--cascade {cascade.Teacher} with model '{spec.Model}': {(student.Preprocessing == ModelManifest.NativeGrayPreprocessing ? spec.Model : cascade.Teacher)} scores full-size images, not the 512x512 input a cascade shares; pick two DP-IQA-style models");
        if (teacher.Direction != student.Direction)
            throw new ArgumentException($"--cascade {cascade.Teacher} is {teacher.Direction} but model '{spec.Model}' is {student.Direction}: one threshold judges both scores, so pick a teacher of the same direction");
        // One threshold judges both scores, so they must be on one scale; checked where both models declare theirs.
        if (teacher.DeclaredRange() is { } t && models.Resolve(spec.Model).Manifest.DeclaredRange() is { } own && t != own)
            throw new ArgumentException($"--cascade {cascade.Teacher} scores on [{Show(t.Lower)}, {Show(t.Upper)}] but model '{spec.Model}' on [{Show(own.Lower)}, {Show(own.Upper)}]: " +
                "the --reject-below threshold judges both scores, so pick a teacher on the same scale");
    }

    private static string Show(double v) => v.ToString("G", CultureInfo.InvariantCulture);

    /// <summary>The band a worker rescores, or null when the job has no cascade.</summary>
    public static TeacherBand? Band(JobSpec spec) =>
        spec.Cascade is { } c && Curation.CurationLists.RejectThreshold(spec) is { } x ? new TeacherBand(c.Teacher, x - c.Band, x + c.Band) : null;

    public static bool InBand(TeacherBand band, float score) => score >= band.Lower && score <= band.Upper;

    /// <summary>The score that decides keep/reject: the teacher's where it rescored the image.</summary>
    public static float? DecidingScore(ImageResult result) => result.TeacherScore ?? result.Score;

    /// <summary>Counts the rescored images and those the teacher moved across <paramref name="threshold"/>.</summary>
    public static CascadeResult Count(string teacher, IEnumerable<ImageResult> results, double threshold, bool lowerIsBetter = false)
    {
        long rescored = 0, toKeep = 0, toReject = 0;
        foreach (var r in results)
        {
            if (r is not { Score: { } own, TeacherScore: { } teacherScore }) continue;
            rescored++;
            bool keptByOwn = Curation.CurationLists.Kept(lowerIsBetter, own, threshold), keptByTeacher = Curation.CurationLists.Kept(lowerIsBetter, teacherScore, threshold);
            if (keptByTeacher && !keptByOwn) toKeep++;
            if (!keptByTeacher && keptByOwn) toReject++;
        }
        return new CascadeResult { Teacher = teacher, Rescored = rescored, ChangedToKeep = toKeep, ChangedToReject = toReject };
    }
}

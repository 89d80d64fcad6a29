namespace DpIqa;

/// <summary>
/// Teacher cascade (<c>--cascade TEACHER --band W</c>) on a job with a <c>--reject-below</c> threshold: images whose
/// score from the job's model lies within W of the threshold are scored again by TEACHER, whose score decides keep or reject.
/// </summary>
[GenerateSerializer, Alias("dpiqa.CascadeRule")]
public sealed record CascadeRule
{
    /// <summary>The teacher: a model in the catalog.</summary>
    [Id(0)] public required string Teacher { get; init; }
    /// <summary>Half-width of the band around the threshold, in the job's model's score units.</summary>
    [Id(1)] public double Band { get; init; }
}

/// <summary>What a scoring worker needs for the cascade: the teacher, and the band [Lower, Upper] of scores it rescores.</summary>
[GenerateSerializer, Alias("dpiqa.TeacherBand")]
public sealed record TeacherBand([property: Id(0)] string Teacher, [property: Id(1)] double Lower, [property: Id(2)] double Upper);

/// <summary>What the cascade did: images rescored by the teacher and, of those, how many the teacher moved across the threshold.</summary>
[GenerateSerializer, Alias("dpiqa.CascadeResult")]
public sealed record CascadeResult
{
    /// <summary>The teacher model.</summary>
    [Id(0)] public required string Teacher { get; init; }
    /// <summary>Images scored by the teacher (the job's model's score was within the band).</summary>
    [Id(1)] public long Rescored { get; init; }
    /// <summary>Rescored images the job's model alone would have rejected and the teacher kept.</summary>
    [Id(2)] public long ChangedToKeep { get; init; }
    /// <summary>Rescored images the job's model alone would have kept and the teacher rejected.</summary>
    [Id(3)] public long ChangedToReject { get; init; }
    /// <summary>Rescored images whose side of the threshold changed.</summary>
    public long ChangedSide => ChangedToKeep + ChangedToReject;
}

namespace DpIqa.Results;

/// <summary>What happened to one image: a score, or an error with a kind and a message.</summary>
public sealed class ImageResult
{
    /// <summary>Path relative to the source.</summary>
    public string Path { get; set; } = "";
    /// <summary>Model score (null for an error).</summary>
    public float? Score { get; set; }
    /// <summary><c>ok</c> or <c>error</c>.</summary>
    public string Status { get; set; } = "ok";
    /// <summary>Error kind (see <see cref="ImageErrorKind"/>), null when ok.</summary>
    public string? ErrorKind { get; set; }
    /// <summary>What went wrong, for a person to act on.</summary>
    public string? ErrorMessage { get; set; }
    /// <summary>Original width in pixels (null when the header could not be read).</summary>
    public int? Width { get; set; }
    /// <summary>Original height in pixels.</summary>
    public int? Height { get; set; }
    /// <summary>File size in bytes (null when it could not be read).</summary>
    public long? Bytes { get; set; }
    /// <summary>Model name.</summary>
    public string Model { get; set; } = "";
    /// <summary>Model version.</summary>
    public string ModelVersion { get; set; } = "";
    /// <summary>sha256 of the model's ONNX file: which exact weights produced the score.</summary>
    public string ModelSha256 { get; set; } = "";
    /// <summary>Time from fetch start to score, in milliseconds.</summary>
    public double Milliseconds { get; set; }
    /// <summary>The cascade teacher's score, when the image was rescored (its score was near the threshold); it decides keep/reject.</summary>
    public float? TeacherScore { get; set; }
    /// <summary>The score came from the score cache (the image was unchanged): not fetched, not scored again.</summary>
    public bool Reused { get; set; }

    /// <summary>
    /// The preprocessing path that made the model input: <c>exact</c>, or <c>fast</c> when the JPEG decoder reduced the
    /// image first; null when the image was not decoded.
    /// </summary>
    public string? Preprocess { get; set; }

    /// <summary>The 64-bit perceptual hash (imagehash's pHash) as 16 hex digits; null when the image was not decoded.</summary>
    public string? PHash { get; set; }

    /// <summary>MD5 of the file's bytes as 32 hex digits (the blob's Content-MD5 where the listing had it); null when not read.</summary>
    public string? ContentMd5 { get; set; }

    public const string Ok = "ok", Error = "error";
    public const string Exact = "exact", Fast = "fast";
}

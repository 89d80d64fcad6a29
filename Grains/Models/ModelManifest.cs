using System.Text.Json.Serialization;

namespace DpIqa.Models;

/// <summary>What the cluster must know to serve a model: the ONNX file, its contract and its hash.</summary>
public sealed record ModelManifest
{
    /// <summary>Preprocessing id of DP-IQA's pipeline: PIL RGB, bilinear resize to 512x512, ToTensor (no normalisation).</summary>
    public const string DpIqaPreprocessing = "pil-rgb-bilinear-512-totensor";

    /// <summary>The same pipeline up to the 8-bit image, fed as uint8 NHWC; the graph casts and scales (v / 255).</summary>
    public const string DpIqaPreprocessingUint8 = "pil-rgb-bilinear-512-uint8-nhwc";

    /// <summary>
    /// Preprocessing id of the built-in BRISQUE: the whole image at its own resolution, decoded as the other paths
    /// decode it, to gray as OpenCV's cvtColor(BGR2GRAY) does; the model computes its features from there (no ONNX graph).
    /// </summary>
    public const string NativeGrayPreprocessing = "opencv-gray-native";

    /// <summary>Licence recorded for DP-IQA's official weights and what is exported from them.</summary>
    public const string DpIqaLicence = "CC-BY-NC-SA-4.0";

    /// <summary>Direction of a model whose higher scores mean better quality (DP-IQA's).</summary>
    public const string HigherIsBetter = "higher-is-better";

    /// <summary>Direction of a model whose lower scores mean better quality.</summary>
    public const string LowerIsBetter = "lower-is-better";

    [JsonPropertyName("name")] public required string Name { get; init; }
    [JsonPropertyName("version")] public required string Version { get; init; }
    [JsonPropertyName("description")] public string Description { get; init; } = "";
    [JsonPropertyName("file")] public required string File { get; init; }
    [JsonPropertyName("sha256")] public required string Sha256 { get; init; }
    [JsonPropertyName("input")] public string Input { get; init; } = "image";
    [JsonPropertyName("input_shape")] public long[] InputShape { get; init; } = [-1, 3, 512, 512];
    [JsonPropertyName("input_dtype")] public string InputType { get; init; } = "float32";
    [JsonPropertyName("preprocessing")] public string Preprocessing { get; init; } = DpIqaPreprocessing;
    [JsonPropertyName("output")] public string Output { get; init; } = "score";
    /// <summary>[lower, upper] of the scores the model gives; null (no <c>score_range</c>) when unknown.</summary>
    [JsonPropertyName("score_range")] public double[]? ScoreRange { get; init; }
    [JsonPropertyName("direction")] public string Direction { get; init; } = HigherIsBetter;
    /// <summary>Default preprocessing path for jobs that do not choose one: <c>exact</c> (the default) or <c>fast</c>.</summary>
    [JsonPropertyName("preprocess")] public string Preprocess { get; init; } = "exact";
    /// <summary>The licence of the model's weights (an SPDX id where there is one, e.g. Apache-2.0, CC-BY-NC-SA-4.0); null when unknown.</summary>
    [JsonPropertyName("licence")] public string? Licence { get; init; }
    /// <summary>External-data files (models over 2 GB) and their sha256.</summary>
    [JsonPropertyName("external_data")] public Dictionary<string, string>? ExternalData { get; init; }

    /// <summary>Whether lower scores mean better quality (<see cref="LowerIsBetter"/>).</summary>
    [JsonIgnore] public bool LowerBetter => Direction == LowerIsBetter;

    /// <summary>Whether the licence forbids commercial use (a CC "NC" licence).</summary>
    [JsonIgnore] public bool NonCommercial => Licence is { } l && (l.Contains("-NC", StringComparison.OrdinalIgnoreCase) || l.Contains(" NC", StringComparison.OrdinalIgnoreCase));

    /// <summary>The licence for display: the manifest's, or "unknown".</summary>
    [JsonIgnore] public string LicenceShown => string.IsNullOrWhiteSpace(Licence) ? "unknown" : Licence + (NonCommercial ? " (non-commercial)" : "");

    /// <summary>The declared score range, or null when the manifest declares none or one that is not [lower, upper] with lower &lt; upper.</summary>
    public (double Lower, double Upper)? DeclaredRange() =>
        ScoreRange is [var lower, var upper] && double.IsFinite(lower) && double.IsFinite(upper) && lower < upper ? (lower, upper) : null;

    /// <summary>The manifest's <c>preprocess</c> as a path; an unknown value is an invalid request naming the model.</summary>
    public PreprocessPath DefaultPreprocess() => Preprocess.ToLowerInvariant() switch
    {
        "exact" => PreprocessPath.Exact,
        "fast" => PreprocessPath.Fast,
        _ => throw new ArgumentException($"model '{Name}': its manifest's preprocess is '{Preprocess}'; set it to exact or fast"),
    };
}

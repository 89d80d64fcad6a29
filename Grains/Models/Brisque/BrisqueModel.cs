using System.Globalization;
using System.Reflection;
using System.Security.Cryptography;
using DpIqa.Imaging;

namespace DpIqa.Models.Brisque;

/// <summary>
/// The built-in model <c>brisque</c>: OpenCV's BRISQUE trained on the LIVE database (opencv_contrib, modules/quality,
/// Apache-2.0), the two files shipped as they are in Grains/Models/Brisque (see NOTICE there). Features from
/// <see cref="BrisqueFeatures"/>, scaled to [-1, 1] by the range file, then the model file's epsilon-SVR with an RBF
/// kernel (libsvm's prediction as OpenCV's ml module computes it); the score is clamped to [0, 100]. Lower is better.
/// </summary>
internal sealed class BrisqueModel
{
    public const string Name = "brisque";
    public const string Version = "1";
    public const string Licence = "Apache-2.0";

    public static readonly string Description =
        "BRISQUE (Mittal, Moorthy, Bovik 2012), OpenCV's LIVE-trained model: no-reference, 0-100, lower is better";

    private const string ModelResource = "DpIqa.Models.Brisque.brisque_model_live.yml";
    private const string RangeResource = "DpIqa.Models.Brisque.brisque_range_live.yml";

    private static readonly Lazy<BrisqueModel> Loaded = new(Load);

    /// <summary>The model, read once from the assembly's resources.</summary>
    public static BrisqueModel Shared => Loaded.Value;

    private readonly float[] _supportVectors; // count x 36
    private readonly double[] _alpha;
    private readonly double _rho, _gamma;
    private readonly float[] _min, _max;

    /// <summary>sha256 of the model file's bytes followed by the range file's: what result rows record.</summary>
    public string Sha256 { get; }

    private BrisqueModel(float[] supportVectors, double[] alpha, double rho, double gamma, float[] min, float[] max, string sha256)
    {
        (_supportVectors, _alpha, _rho, _gamma, _min, _max, Sha256) = (supportVectors, alpha, rho, gamma, min, max, sha256);
    }

    /// <summary>The score of a decoded image (gray as OpenCV converts BGR; alpha ignored, as cv2.imread drops it).</summary>
    public float Score(DecodedImage image)
    {
        if (image.Width < 2 || image.Height < 2)
            throw new ImageError(ImageErrorKind.Unsupported, $"BRISQUE needs an image of at least 2x2 pixels (this one is {image.Width}x{image.Height})");
        var gray = System.Buffers.ArrayPool<byte>.Shared.Rent(image.Width * image.Height);
        try
        {
            BrisqueFeatures.Gray(image.Rgba, image.Width, image.Height, image.Stride, gray);
            return Score(BrisqueFeatures.Compute(gray, image.Width, image.Height));
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(gray);
        }
    }

    /// <summary>The score of 36 features: quality_utils::scale to [-1, 1] in float32, then the SVR, clamped to [0, 100].</summary>
    public float Score(float[] features)
    {
        int count = features.Length;
        var x = new float[count];
        for (int i = 0; i < count; i++) x[i] = -1f + 2f * (features[i] - _min[i]) / (_max[i] - _min[i]);
        double sum = -_rho;
        for (int j = 0; j < _alpha.Length; j++)
        {
            var sv = _supportVectors.AsSpan(j * count, count);
            double s = 0;
            int k = 0;
            for (; k <= count - 4; k += 4)
            {
                double t0 = sv[k] - x[k], t1 = sv[k + 1] - x[k + 1];
                s += t0 * t0 + t1 * t1;
                t0 = sv[k + 2] - x[k + 2];
                t1 = sv[k + 3] - x[k + 3];
                s += t0 * t0 + t1 * t1;
            }
            for (; k < count; k++)
            {
                double t0 = sv[k] - x[k];
                s += t0 * t0;
            }
            sum += _alpha[j] * Kernel((float)(s * -_gamma));
        }
        return Math.Min(Math.Max((float)sum, 0f), 100f);
    }

    /// <summary>
    /// OpenCV's RBF kernel value exp(<paramref name="exponent"/>) in float32. OpenCV's vectorised exp first clamps its
    /// argument to [-88.376, 88.376] with SIMD min/max, which return the bound for NaN: so a NaN exponent (NaN features:
    /// a flat image, whose AGGD fits have nothing to fit) gives exp(-88.376), about 0, where MathF.Exp gives NaN. With
    /// every kernel about 0 the score is -rho (149.6), clamped to 100, as OpenCV scores a flat image.
    /// </summary>
    private static float Kernel(float exponent) => MathF.Exp(float.IsNaN(exponent) ? MinExpArgument : exponent);

    private const float MinExpArgument = -88.3762626647949f;

    private static BrisqueModel Load()
    {
        var assembly = typeof(BrisqueModel).Assembly;
        byte[] model = Read(assembly, ModelResource), range = Read(assembly, RangeResource);
        var text = System.Text.Encoding.ASCII.GetString(model);
        double gamma = Number(After(text, "gamma:"));
        int vars = (int)Number(After(text, "var_count:"));
        int total = (int)Number(After(text, "sv_total:"));
        int svStart = text.IndexOf("support_vectors:", StringComparison.Ordinal);
        int dfStart = text.IndexOf("decision_functions:", StringComparison.Ordinal);
        var sv = Numbers(text[svStart..dfStart]).Select(v => (float)v).ToArray();
        double rho = Number(After(text, "rho:"));
        var alphaText = After(text, "alpha:");
        var alpha = Numbers(alphaText[..alphaText.IndexOf(']')]).ToArray();
        if (vars != BrisqueFeatures.Count || sv.Length != total * vars || alpha.Length != total)
            throw new InvalidOperationException($"the built-in BRISQUE model is malformed: {sv.Length} support-vector values and {alpha.Length} coefficients for {total} vectors of {vars}");
        var rangeText = System.Text.Encoding.ASCII.GetString(range);
        var data = After(rangeText, "data:");
        var bounds = Numbers(data[..data.IndexOf(']')]).Select(v => (float)v).ToArray();
        if (bounds.Length != 2 * vars) throw new InvalidOperationException($"the built-in BRISQUE range has {bounds.Length} values, not {2 * vars}");
        var sha = Convert.ToHexStringLower(SHA256.HashData([.. model, .. range]));
        return new BrisqueModel(sv, alpha, rho, gamma, bounds[..vars], bounds[vars..], sha);
    }

    private static byte[] Read(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name) ?? throw new InvalidOperationException($"resource {name} is missing from {assembly.GetName().Name}");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private static string After(string text, string key)
    {
        int at = text.IndexOf(key, StringComparison.Ordinal);
        if (at < 0) throw new InvalidOperationException($"the built-in BRISQUE files have no '{key}'");
        return text[(at + key.Length)..];
    }

    private static double Number(string text) => Numbers(text.Split('\n')[0]).First();

    /// <summary>Every number in <paramref name="text"/> (YAML flow lists, "- [ ... ]" rows).</summary>
    private static IEnumerable<double> Numbers(string text)
    {
        foreach (var token in text.Split([' ', ',', '[', ']', '\n', '\r', '\t', '{', '}', ':'], StringSplitOptions.RemoveEmptyEntries))
        {
            if (double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out var v)) yield return v;
        }
    }
}

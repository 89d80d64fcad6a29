using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using DpIqa.Imaging;

namespace DpIqa.Tests.Imaging;

/// <summary>
/// 40 camera-size JPEGs (3000-6000 px, qualities 60-97, 4:4:4 / 4:2:2 / 4:2:0, some progressive) made from the
/// shipped photos by tests/reference/camera_jpegs.py, and PIL's draft-mode preprocessing of them and of the shipped
/// JPEGs with the fast path's bound, and a NumPy reference of the fast path's compensated resize of PIL's draft
/// (tests/reference/pil_draft.py). Made once per version of the scripts and photos into the build output
/// (bin/.../camera-jpegs/KEY), so later runs cost nothing. Needs Debian's python3-pil and python3-numpy.
/// </summary>
public sealed class CameraJpegs
{
    public const int Count = 40;

    public string Folder { get; }
    /// <summary>PIL's references, made again when pil_draft.py changes (the JPEGs only when their generator or the photos do).</summary>
    public string DraftFolder { get; }
    public string? SkipReason { get; }
    public IReadOnlyList<string> Files { get; } = [];
    /// <summary>File name to the size PIL's draft decoded it at.</summary>
    public IReadOnlyDictionary<string, (int Width, int Height)> DraftSizes { get; } = new Dictionary<string, (int, int)>();

    private static string Script(string name) => RepoPaths.Of(Path.Combine("tests", "reference", name));

    public static string[] ShippedJpegs() => TestImages.Photos().Where(f => f.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase)).ToArray();

    public CameraJpegs()
    {
        var sources = TestImages.Photos().ToArray();
        Folder = Path.Combine(AppContext.BaseDirectory, "camera-jpegs", Key([Script("camera_jpegs.py"), .. sources]));
        DraftFolder = Path.Combine(Folder, FormattableString.Invariant(
            $"draft-{Key([Script("pil_draft.py")])}-{Preprocessor.FastDecodeMinSide}-{Preprocessor.FastBlurCompensation:R}"));
        var done = Path.Combine(DraftFolder, "draft.json"); // written last: a folder without it is an interrupted run
        if (!File.Exists(done))
        {
            if (Run(["-c", "import PIL, numpy"]).Code != 0)
            {
                SkipReason = Dependency.Missing("python3-pil/python3-numpy are not installed, so the camera-size JPEGs cannot be made (apt-get install python3-pil python3-numpy)");
                return;
            }
            if (!Directory.Exists(Folder) || Directory.GetFiles(Folder, "camera-*.jpg").Length != Count)
            {
                var made = Run([Script("camera_jpegs.py"), Folder, Count.ToString(), .. sources]);
                if (made.Code != 0) throw new InvalidOperationException($"camera_jpegs.py failed: {made.Output}");
            }
            var cameras = Directory.GetFiles(Folder, "camera-*.jpg").Order(StringComparer.Ordinal);
            var draft = Run([Script("pil_draft.py"), DraftFolder, Preprocessor.FastDecodeMinSide.ToString(CultureInfo.InvariantCulture),
                Preprocessor.FastBlurCompensation.ToString("R", CultureInfo.InvariantCulture), .. cameras, .. ShippedJpegs()]);
            if (draft.Code != 0) throw new InvalidOperationException($"pil_draft.py failed: {draft.Output}");
        }
        Files = Directory.GetFiles(Folder, "camera-*.jpg").Order(StringComparer.Ordinal).ToArray();
        DraftSizes = JsonDocument.Parse(File.ReadAllText(done)).RootElement.EnumerateObject()
            .ToDictionary(p => p.Name, p => (p.Value[0].GetInt32(), p.Value[1].GetInt32()));
    }

    private static string Key(IEnumerable<string> files)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var file in files)
        {
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(Path.GetFileName(file) + "\n"));
            hash.AppendData(SHA256.HashData(File.ReadAllBytes(file)));
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset())[..16];
    }

    private static (int Code, string Output) Run(string[] args) => Models.StudentParityFixture.Run("/usr/bin/python3", args);
}

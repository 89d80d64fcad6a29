namespace DpIqa.Models;

/// <summary>
/// The model the project provides so it runs with no download: a deterministic no-reference quality
/// PROXY with DP-IQA student's contract (input <c>image</c> [N,3,512,512] float32 in [0,1], output
/// <c>score</c> [N,1], higher is better). It is NOT DP-IQA. On the luma plane Y = 0.299R + 0.587G + 0.114B:
/// <code>
/// sharpness = r / (r + R0),   r = mean(Laplacian(Y)^2) / var(Y)     (edge energy per unit of contrast)
/// contrast  = std(Y) / (std(Y) + C0)
/// exposure  = exp(-(mean(Y) - M0)^2 / (2 S0^2))
/// clipping  = (1 - mean(clip((Y - 0.9) / 0.1, 0, 1))) * (1 - mean(clip((0.1 - Y) / 0.1, 0, 1)))
/// score     = sharpness * contrast * exposure * clipping            (in (0, 1))
/// </code>
/// Blur lowers r; under- and over-exposure move mean(Y) away from M0, crush shadows or blow
/// highlights (clipping) and lower contrast.
/// </summary>
internal static class ProxyModel
{
    public const string Name = "proxy-sharpness";
    public const string Version = "1";
    /// <summary>The proxy is a formula of this project, with no third-party weights.</summary>
    public const string Licence = "this project's (a formula, no weights)";
    public const float R0 = 0.05f, C0 = 0.05f, M0 = 0.45f, S0 = 0.2f;

    public static readonly string Description =
        "Built-in stand-in, NOT DP-IQA: Laplacian sharpness x contrast x exposure on luma; " +
        "import a DP-IQA export to score with the real model";

    /// <summary>1 - mean(clip(x, 0, 1)): the share of pixels NOT in a clipped zone.</summary>
    private static string Clipped(OnnxGraph g, string x, long[] axes)
    {
        var share = g.Node("ReduceMean", [g.Node("Clip", [x, g.Scalar(0f), g.Scalar(1f)])], null, ("axes", axes), ("keepdims", 1L));
        return g.Node("Sub", [g.Scalar(1f), share]);
    }

    public static byte[] Build()
    {
        var g = new OnnxGraph("proxy_sharpness");
        var image = g.Input("image", "batch", 3, 512, 512);
        var luma = g.Node("Conv", [image, g.Constant([0.299f, 0.587f, 0.114f], 1, 3, 1, 1)]);
        long[] all = [1, 2, 3];
        var mean = g.Node("ReduceMean", [luma], null, ("axes", all), ("keepdims", 1L));
        var meanSq = g.Node("ReduceMean", [g.Node("Mul", [luma, luma])], null, ("axes", all), ("keepdims", 1L));
        var variance = g.Node("Max", [g.Node("Sub", [meanSq, g.Node("Mul", [mean, mean])]), g.Scalar(1e-6f)]);
        var std = g.Node("Sqrt", [variance]);
        var laplacian = g.Node("Conv", [luma, g.Constant([0, 1, 0, 1, -4, 1, 0, 1, 0], 1, 1, 3, 3)]);
        var energy = g.Node("ReduceMean", [g.Node("Mul", [laplacian, laplacian])], null, ("axes", all), ("keepdims", 1L));
        var r = g.Node("Div", [energy, variance]);
        var sharpness = g.Node("Div", [r, g.Node("Add", [r, g.Scalar(R0)])]);
        var contrast = g.Node("Div", [std, g.Node("Add", [std, g.Scalar(C0)])]);
        var d = g.Node("Sub", [mean, g.Scalar(M0)]);
        var exposure = g.Node("Exp", [g.Node("Mul", [g.Node("Mul", [d, d]), g.Scalar(-1f / (2 * S0 * S0))])]);
        var highlights = Clipped(g, g.Node("Mul", [g.Node("Sub", [luma, g.Scalar(0.9f)]), g.Scalar(10f)]), all);
        var shadows = Clipped(g, g.Node("Mul", [g.Node("Sub", [g.Scalar(0.1f), luma]), g.Scalar(10f)]), all);
        var clipping = g.Node("Mul", [highlights, shadows]);
        var score = g.Node("Mul", [g.Node("Mul", [g.Node("Mul", [sharpness, contrast]), exposure]), clipping]);
        g.Node("Flatten", [score], "score", ("axis", 1L));
        g.Output("score", "batch", 1);
        return g.ToModel("dpiqa-cluster", Description, new Dictionary<string, string>
        {
            ["dpiqa.model"] = Name,
            ["dpiqa.version"] = Version,
        });
    }
}

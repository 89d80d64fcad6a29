namespace DpIqa.Tests;

/// <summary>
/// The one rule for tests that need something outside the .NET SDK (Azurite, silo processes, PyTorch): on a
/// developer machine a missing dependency skips them with a visible SKIPPED reason; in CI (environment CI=true)
/// it fails them with that reason, so CI cannot pass with its key tests skipped.
/// </summary>
internal static class Dependency
{
    /// <summary>True when the environment variable CI is set to true (or 1), as CI services and .ci/run do.</summary>
    public static bool InCi => Environment.GetEnvironmentVariable("CI")?.Trim().ToLowerInvariant() is "true" or "1";

    /// <summary>
    /// Call where a dependency was found missing: in CI it throws, so the fixture or test that called it fails with
    /// <paramref name="reason"/>; elsewhere it prints and returns the skip reason ("SKIPPED: ...") to pass to
    /// <c>Skip.If</c>. A class fixture that throws fails every test of its class, so fixtures call it in their
    /// constructor and tests keep their <c>Skip.If(fixture.SkipReason is not null, fixture.SkipReason)</c>.
    /// </summary>
    /// <param name="reason">What is missing and how to get it, e.g. "Azurite is not available (install Node.js and npm)".</param>
    public static string Missing(string reason)
    {
        if (InCi)
            throw new InvalidOperationException($"FAILED in CI (CI=true) instead of skipped: {reason}");
        var skip = "SKIPPED: " + reason;
        Console.WriteLine(skip);
        return skip;
    }
}

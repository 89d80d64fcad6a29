using System.Diagnostics;
using DpIqa.Jobs;
using DpIqa.Results;
using Xunit.Abstractions;

namespace DpIqa.Tests.Inference;

/// <summary>
/// <c>Inference:Device=cuda</c> on a machine without CUDA, as a user meets it: <c>dpiqa score --device cuda</c>
/// prints one warning line saying CUDA is unavailable and that it runs on the CPU, and its scores equal a CPU run's.
/// </summary>
public sealed class CudaFallbackTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempFolder _dir = new();

    private async Task<(int Code, string[] Err)> Score(string device, string outDir)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = _dir.Path };
        foreach (var a in new[] { global::DpIqa.Tests.Cli.DpiqaProcess.Dll(), "score", RepoPaths.Photos, "--model", "proxy-sharpness", "--device", device, "--out", outDir, "--format", "jsonl" }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var hang = new CancellationTokenSource(TimeSpan.FromMinutes(5)); // a guard against a hang, not a timing check
        await p.WaitForExitAsync(hang.Token);
        await stdout;
        var err = (await stderr).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        output.WriteLine($"--device {device} -> {p.ExitCode}; stderr:\n{string.Join('\n', err)}");
        return (p.ExitCode, err);
    }

    [SkippableFact]
    public async Task Cuda_without_cuda_warns_once_and_scores_like_the_cpu()
    {
        Skip.If(File.Exists("/dev/nvidiactl"), "this machine has an NVIDIA device, so CUDA may not fall back here");
        var (cudaOut, cpuOut) = (Path.Combine(_dir.Path, "cuda"), Path.Combine(_dir.Path, "cpu"));
        var cuda = await Score("cuda", cudaOut);
        var cpu = await Score("cpu", cpuOut);
        Assert.Equal((0, 0), (cuda.Code, cpu.Code));

        var fallback = cuda.Err.Where(l => l.Contains("CUDA requested", StringComparison.Ordinal)).ToList();
        Assert.Single(fallback);
        Assert.Contains("running on CPU", fallback[0]);
        Assert.Single(cuda.Err, l => l.Contains("warn:", StringComparison.Ordinal)); // the one warning, nothing else
        Assert.DoesNotContain(cuda.Err, l => l.Contains("onnxruntime", StringComparison.Ordinal) && !l.Contains("CUDA requested", StringComparison.Ordinal)); // no native log lines
        Assert.DoesNotContain(cpu.Err, l => l.Contains("CUDA", StringComparison.Ordinal));

        var onCuda = await ResultFiles.Decode(File.ReadAllBytes(JobLayout.MergedResults(cudaOut, ResultFormat.Jsonl)), ResultFormat.Jsonl);
        var onCpu = await ResultFiles.Decode(File.ReadAllBytes(JobLayout.MergedResults(cpuOut, ResultFormat.Jsonl)), ResultFormat.Jsonl);
        Assert.Equal(Directory.GetFiles(RepoPaths.Photos).Count(f => !f.EndsWith(".md")), onCpu.Count(r => r.Status == ImageResult.Ok));
        Assert.Equal(
            onCpu.Select(r => (r.Path, r.Status, r.Score)).OrderBy(r => r.Path, StringComparer.Ordinal),
            onCuda.Select(r => (r.Path, r.Status, r.Score)).OrderBy(r => r.Path, StringComparer.Ordinal));
    }

    public void Dispose() => _dir.Dispose();
}

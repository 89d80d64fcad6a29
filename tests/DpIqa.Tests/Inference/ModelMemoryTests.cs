using DpIqa.Client;
using DpIqa.Inference;
using DpIqa.Jobs;
using DpIqa.Models;
using DpIqa.Results;
using DpIqa.Tests.Cli;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Xunit.Abstractions;

namespace DpIqa.Tests.Inference;

/// <summary>
/// A silo that cannot hold a model (here: an artificially small <c>Inference:MemoryBudgetMiB</c>) does not load it:
/// the load fails with a message saying what the model needs and what to configure, before ONNX Runtime allocates,
/// and a job's images end as <c>inference</c> error records carrying that message; the budget counts the models
/// already loaded.
/// </summary>
public sealed class ModelMemoryTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempFolder _dir = new();

    private string Models => Path.Combine(_dir.Path, "models");

    private long Big()
    {
        LargeModels.Write(Path.Combine(_dir.Path, "exports", "big"), "big", 2, 512); // 2 MiB of weights
        new ModelCatalog(Options.Create(new ModelOptions { Path = Models })).Import(new ModelImport(Path.Combine(_dir.Path, "exports", "big")));
        return new DirectoryInfo(Path.Combine(Models, "big")).GetFiles("big.onnx*").Sum(f => f.Length);
    }

    private InferenceService Inference(long budgetMiB) => new(new ModelCatalog(Options.Create(new ModelOptions { Path = Models })),
        Options.Create(new InferenceOptions { MemoryBudgetMiB = budgetMiB }), NullLogger<InferenceService>.Instance);

    [Fact]
    public async Task A_model_over_the_budget_is_refused_before_loading_with_what_it_needs_and_what_to_set()
    {
        long files = Big();
        long need = ModelMemory.EstimateBytes(files) >> 20;
        await using var inference = Inference(budgetMiB: 1);
        var e = Assert.Throws<ModelMemoryException>(() => inference.Session("big"));
        output.WriteLine(e.Message);
        Assert.StartsWith($"model 'big' needs about {need + 1} MiB to load", e.Message);
        Assert.Contains("Inference:MemoryBudgetMiB=1 leaves 1 MiB", e.Message);
        Assert.Contains($"raise Inference:MemoryBudgetMiB to at least {need + 1}", e.Message);
    }

    [Fact]
    public async Task The_budget_counts_the_models_already_loaded()
    {
        long files = Big();
        new ModelCatalog(Options.Create(new ModelOptions { Path = Models })).Import(new ModelImport(Path.Combine(_dir.Path, "exports", "big")) { Name = "big-2" });
        long one = ModelMemory.EstimateBytes(files);
        await using var inference = Inference(budgetMiB: (one * 3 / 2) >> 20); // room for one, not two
        Assert.Equal("big", inference.Session("big").Manifest.Name);
        var e = Assert.Throws<ModelMemoryException>(() => inference.Session("big-2"));
        output.WriteLine(e.Message);
        Assert.Contains("models already loaded here need about", e.Message);
    }

    [Fact]
    public async Task A_job_on_a_silo_that_cannot_hold_the_model_ends_with_inference_error_records()
    {
        Big();
        var outFolder = Path.Combine(_dir.Path, "out");
        var (code, stdout, err) = await DpiqaProcess.Run(_dir.Path, ["score", RepoPaths.Photos, "--out", outFolder, "--model", "big", "--models-dir", Models],
            new Dictionary<string, string> { ["Inference__MemoryBudgetMiB"] = "1" });
        output.WriteLine($"exit {code}\n{stdout}\n{string.Join('\n', err)}");
        Assert.Equal(ExitCodes.Ok, code); // the job completed; every image is an error record
        var rows = await ResultFiles.Decode(File.ReadAllBytes(JobLayout.MergedResults(outFolder, ResultFormat.Csv)), ResultFormat.Csv);
        Assert.Equal(TinyModels.Photos().Length, rows.Count);
        Assert.All(rows, r =>
        {
            Assert.Equal(ImageResult.Error, r.Status);
            Assert.Equal("inference", r.ErrorKind);
            Assert.Contains("model 'big' needs about", r.ErrorMessage);
            Assert.Contains("Inference:MemoryBudgetMiB", r.ErrorMessage);
        });
    }

    public void Dispose() => _dir.Dispose();
}

using DpIqa.Client;
using DpIqa.Imaging;
using DpIqa.Inference;
using DpIqa.Models;
using DpIqa.Tests.Cli;
using DpIqa.Tests.Cluster;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Xunit.Abstractions;

namespace DpIqa.Tests.Inference;

/// <summary>
/// Per-model inference settings, <c>Models:NAME:MaxBatch</c> and the others: two models on one silo run with their
/// own batches (a model whose score is its batch size shows what each ran with), the silo logs the settings in
/// effect, and a bad per-model setting stops <c>dpiqa score</c> with one line naming the key, exit 2.
/// </summary>
public sealed class ModelSettingsTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempFolder _dir = new();

    private static ModelOptions Read(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var options = configuration.GetSection(ModelOptions.Section).Get<ModelOptions>() ?? new ModelOptions();
        ModelSettings.Read(configuration.GetSection(ModelOptions.Section), options);
        return options;
    }

    [Fact]
    public async Task Two_models_on_one_silo_run_with_their_own_batches_and_the_settings_are_logged()
    {
        var folder = Path.Combine(_dir.Path, "models");
        TinyModels.AddBatchSize(folder, "teacher-like");
        TinyModels.AddBatchSize(folder, "student-like");
        var models = Read(new()
        {
            ["Models:Path"] = folder,
            // The teacher: batches of 4, one run at a time; a wait long enough for 4 queued images to be taken together.
            ["Models:teacher-like:MaxBatch"] = "4",
            ["Models:teacher-like:ConcurrentRuns"] = "1",
            ["Models:teacher-like:MaxWaitMs"] = "2000",
            ["Models:student-like:ConcurrentRuns"] = "1",
        });
        Assert.Empty(models.SettingErrors);
        var logs = new LogRecorder();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs));
        await using var inference = new InferenceService(new ModelCatalog(Options.Create(models)),
            Options.Create(new InferenceOptions { MaxBatch = 1, MaxWaitMs = 2000 }), factory.CreateLogger<InferenceService>());

        var images = TinyModels.Photos().Take(8).Select(p => Preprocessor.Run(File.ReadAllBytes(p), new ImageLimits())).ToList();
        try
        {
            var teacher = await Task.WhenAll(images.Select(i => inference.Score("teacher-like", i, CancellationToken.None)));
            var student = await Task.WhenAll(images.Select(i => inference.Score("student-like", i, CancellationToken.None)));
            output.WriteLine($"teacher-like ran batches of {string.Join(",", teacher)}; student-like {string.Join(",", student)}");
            Assert.All(teacher, b => Assert.InRange(b, 1, 4));
            Assert.Contains(4f, teacher); // Models:teacher-like:MaxBatch took effect (the silo's Inference:MaxBatch is 1)
            Assert.All(student, b => Assert.Equal(1f, b)); // the silo's Inference:MaxBatch
        }
        finally
        {
            foreach (var i in images) i.Dispose();
        }
        foreach (var line in logs.Lines.Where(l => l.Contains("max batch", StringComparison.Ordinal))) output.WriteLine(line);
        Assert.Contains(logs.Lines, l => l.Contains("Model teacher-like on cpu: max batch 4, 1 concurrent runs", StringComparison.Ordinal)
            && l.Contains("from Models:teacher-like:* (MaxBatch=4, ConcurrentRuns=1, MaxWaitMs=2000) over Inference:*", StringComparison.Ordinal));
        Assert.Contains(logs.Lines, l => l.Contains("Model student-like on cpu: max batch 1, 1 concurrent runs", StringComparison.Ordinal));
    }

    [Fact]
    public void Models_own_keys_are_not_model_names_and_bad_values_name_their_key()
    {
        var options = Read(new()
        {
            ["Models:Path"] = "/tmp/models",
            ["Models:Default"] = "proxy-sharpness",
            ["Models:teacher:MaxBatch"] = "2",
            ["Models:teacher:MaxBatc"] = "2",
            ["Models:student:MaxBatch"] = "eight",
            ["Models:other:ConcurrentRuns"] = "0",
        });
        Assert.Equal(new ModelSettings { MaxBatch = 2 }, options.SettingsOf("teacher"));
        Assert.Null(options.SettingsOf("path"));
        Assert.Equal(
            [
                "other:ConcurrentRuns must be >= 1 (got 0; leave it out for the silo's Inference:ConcurrentRuns)",
                "student:MaxBatch must be a whole number (got 'eight')",
                "teacher:MaxBatc is not a per-model setting (one of MaxBatch, ConcurrentRuns, IntraOpThreads, MaxWaitMs)",
            ],
            options.SettingErrors.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("Models__mine__MaxBatch", "eight", "Models:mine:MaxBatch must be a whole number (got 'eight')")]
    [InlineData("Models__mine__Batch", "4", "Models:mine:Batch is not a per-model setting (one of MaxBatch, ConcurrentRuns, IntraOpThreads, MaxWaitMs)")]
    [InlineData("Inference__MemoryBudgetMiB", "-1", "Inference:MemoryBudgetMiB must be >= 0 (got -1")]
    public async Task A_bad_per_model_setting_stops_score_with_exit_2_and_one_line_naming_the_key(string key, string value, string expected)
    {
        var (code, _, err) = await DpiqaProcess.Run(_dir.Path, ["score", RepoPaths.Photos, "--out", Path.Combine(_dir.Path, "out")],
            new Dictionary<string, string> { [key] = value });
        Assert.Equal(ExitCodes.InvalidRequest, code);
        var line = Assert.Single(err);
        Assert.StartsWith("error: invalid setting: ", line);
        Assert.Contains(expected, line);
    }

    public void Dispose() => _dir.Dispose();
}

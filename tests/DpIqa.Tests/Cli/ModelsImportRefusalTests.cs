using DpIqa.Client;

namespace DpIqa.Tests.Cli;

/// <summary><c>dpiqa models import</c> given nothing, or a path that is not there: one line naming what is missing, exit 2.</summary>
public sealed class ModelsImportRefusalTests : IDisposable
{
    private readonly TempFolder _dir = new();

    [Fact]
    public async Task An_empty_path_says_no_model_was_given()
    {
        var (code, lines) = await CliInProcess.Run(["models", "import", "", "--models-dir", Path.Combine(_dir.Path, "catalog")]);
        Assert.Equal(ExitCodes.InvalidRequest, code);
        DpiqaProcess.AssertOneErrorLine(lines, "error: no model given: name the export folder OUT/NAME");
    }

    [Fact]
    public async Task A_missing_path_is_named_in_quotes()
    {
        var missing = Path.Combine(_dir.Path, "exports", "dpiqa-student-koniq");
        var (code, lines) = await CliInProcess.Run(["models", "import", missing, "--models-dir", Path.Combine(_dir.Path, "catalog")]);
        Assert.Equal(ExitCodes.InvalidRequest, code);
        DpiqaProcess.AssertOneErrorLine(lines, $"'{missing}' does not exist");
    }

    public void Dispose() => _dir.Dispose();
}

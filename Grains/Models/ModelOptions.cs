namespace DpIqa.Models;

/// <summary>Configuration section <c>Models</c>.</summary>
public sealed class ModelOptions
{
    public const string Section = "Models";

    /// <summary>Folder holding imported models: a folder <c>NAME/</c> per model with <c>NAME.onnx</c>, its external-data
    /// files and its manifest <c>NAME.json</c> (a <c>NAME.json</c> beside <c>NAME.onnx</c> at the top, the earlier layout, is read too).</summary>
    public string Path { get; set; } = System.IO.Path.Combine(
        Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".dpiqa", "models");

    /// <summary>Model used when a job names none: the built-in BRISQUE.</summary>
    public string Default { get; set; } = Brisque.BrisqueModel.Name;

    /// <summary>
    /// Where the catalog lives: empty for the local folder <see cref="Path"/>, or <c>blob:CONTAINER[/PREFIX]</c> for a
    /// catalog in the blob storage of <c>Storage:*</c> that every silo reads (<c>dpiqa models import --to-cluster</c>
    /// fills it); silos then download a model on first use into <see cref="CachePath"/>.
    /// </summary>
    public string? Source { get; set; }

    /// <summary>Local copies of models from a blob catalog (<see cref="Source"/>), kept across restarts and checked
    /// against the catalog's sha256 before every load.</summary>
    public string CachePath { get; set; } = System.IO.Path.Combine(
        Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".dpiqa", "model-cache");

    /// <summary>Per-model inference settings, <c>Models:NAME:MaxBatch</c> and the other <see cref="ModelSettings.Keys"/>
    /// (read from configuration by <see cref="ModelSettings.Read"/>, not by the binder: the model's name is the key).</summary>
    internal Dictionary<string, ModelSettings> PerModel { get; } = new(StringComparer.Ordinal);

    /// <summary>Per-model settings that could not be read, each naming its key below <c>Models:</c>; reported at start.</summary>
    internal List<string> SettingErrors { get; } = [];

    /// <summary>The settings <c>Models:NAME:*</c> gives model <paramref name="name"/>, or null.</summary>
    public ModelSettings? SettingsOf(string name) => PerModel.GetValueOrDefault(name);
}

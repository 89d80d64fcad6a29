using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using DpIqa.Models;
using DpIqa.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace DpIqa.Client.Commands;

/// <summary><c>dpiqa models</c>: the model catalog.</summary>
internal static class ModelsCommand
{
    public static Command Create()
    {
        var modelsPath = CommonOptions.ModelsPath();
        var source = new Option<string?>("--source")
        {
            Description = "The cluster's model catalog, blob:CONTAINER[/PREFIX] (config Models:Source; storage from Storage:ConnectionString)",
        };
        var json = CommonOptions.Json();
        var list = new Command("list", "List the models this machine (or, with Models:Source, the cluster) can serve, their score range and direction") { modelsPath, source, json };
        list.SetAction(parse =>
        {
            var catalog = Catalog(Settings(parse, modelsPath, source));
            var models = catalog.List();
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new { @default = catalog.DefaultModel, models }, new JsonSerializerOptions { WriteIndented = true }));
                return 0;
            }
            foreach (var m in models)
            {
                var mark = m.Name == catalog.DefaultModel ? " (default)" : "";
                Console.WriteLine($"{m.Name}{mark}  v{m.Version}  {Scores(m)}  licence {m.LicenceShown}  sha256 {m.Sha256[..12]}  {m.File}");
                Console.WriteLine($"    {m.Description}");
            }
            return 0;
        });
        var importFile = new Argument<string>("model") { Description = "The export folder OUT/NAME from tools/export/export.py (NAME.onnx, external data, NAME.json), or an ONNX file" };
        var importName = new Option<string?>("--name") { Description = "Catalog name (lower-case letters, digits, . _ -; default: the manifest's, else the file's)" };
        var importManifest = new Option<string?>("--manifest") { Description = "The exporter's manifest (default: NAME.json in the folder); without one the contract is read from the graph" };
        var importVersion = new Option<string?>("--version") { Description = "Version to record (default: the manifest's, else 1)" };
        var importRange = new Option<string?>("--score-range") { Description = "LOW,HIGH of the scores the checkpoint was trained for (e.g. 0,1 or 1,100); overrides the manifest's" };
        var importDirection = new Option<string?>("--direction") { Description = "higher-is-better or lower-is-better; overrides the manifest's" };
        var importLicence = new Option<string?>("--licence")
        {
            Description = "Licence of the weights to record (an SPDX id, e.g. Apache-2.0); default: the manifest's, else CC-BY-NC-SA-4.0 for DP-IQA's official checkpoint names, else unknown",
        };
        var toCluster = new Option<bool>("--to-cluster") { Description = "Upload into the cluster's blob catalog (Models:Source or --source) instead of the local folder" };
        var import = new Command("import", "Copy a model into the catalog (or, with --to-cluster, the cluster's) and record its contract, score range and sha256")
        {
            importFile, importName, importManifest, importVersion, importRange, importDirection, importLicence, toCluster, modelsPath, source, json,
        };
        import.SetAction(parse =>
        {
            var catalog = Catalog(Settings(parse, modelsPath, source));
            var request = new ModelImport(parse.GetValue(importFile)!)
            {
                Name = parse.GetValue(importName),
                ManifestPath = parse.GetValue(importManifest),
                Version = parse.GetValue(importVersion),
                ScoreRange = ParseRange(parse.GetValue(importRange)),
                Direction = parse.GetValue(importDirection),
                Licence = parse.GetValue(importLicence),
            };
            var cluster = parse.GetValue(toCluster);
            if (cluster) RequireAdmin();
            var m = cluster ? catalog.ImportToCluster(request) : catalog.Import(request);
            Console.WriteLine(parse.GetValue(json)
                ? JsonSerializer.Serialize(m, new JsonSerializerOptions { WriteIndented = true })
                : $"imported {m.Name} v{m.Version} ({m.InputType} input '{m.Input}', output '{m.Output}', {Scores(m)}, licence {m.LicenceShown}, sha256 {m.Sha256[..12]}) into {(cluster ? catalog.Blob!.Location : catalog.Folder)}");
            // Said at import (on stderr with --json, which stays machine-readable): a team auditing commercial data may not use such weights.
            if (m.NonCommercial)
                (parse.GetValue(json) ? Console.Error : Console.Out).WriteLine(
                    $"note: {m.Name} is licensed {m.Licence}: non-commercial use only (DP-IQA's official weights); the built-in brisque (Apache-2.0) may be used commercially");
            return ExitCodes.Ok;
        });

        var verify = new Command("verify", "Check every model's files against their sha256 and that ONNX Runtime loads them") { modelsPath, source, json };
        verify.SetAction(parse =>
        {
            var catalog = Catalog(Settings(parse, modelsPath, source));
            var report = new List<object>();
            int failures = 0;
            foreach (var m in catalog.List())
            {
                string? error = null;
                try
                {
                    var resolved = catalog.Resolve(m.Name);
                    if (resolved.Native)
                    {
                        // The built-in BRISQUE: its shipped model files load and are the ones the manifest's sha256 names.
                        if (DpIqa.Models.Brisque.BrisqueModel.Shared.Sha256 != m.Sha256) throw new InvalidOperationException($"built-in model files have sha256 {DpIqa.Models.Brisque.BrisqueModel.Shared.Sha256}, not {m.Sha256}");
                    }
                    else
                    {
                        using var session = resolved.CreateSession(new Microsoft.ML.OnnxRuntime.SessionOptions());
                    }
                }
                catch (Exception e) when (e is InvalidOperationException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException or IOException)
                {
                    error = e.Message;
                    failures++;
                }
                report.Add(new { name = m.Name, version = m.Version, ok = error is null, error });
                if (!parse.GetValue(json)) Console.WriteLine(error is null ? $"ok      {m.Name} v{m.Version}" : $"FAILED  {m.Name} v{m.Version}: {error}");
            }
            if (parse.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true }));
            return failures == 0 ? 0 : 1;
        });

        var removeName = new Argument<string>("name") { Description = "Model to remove" };
        var remove = new Command("remove", "Delete an imported model from the catalog") { removeName, modelsPath, source };
        remove.SetAction(parse =>
        {
            var catalog = Catalog(Settings(parse, modelsPath, source));
            if (catalog.Blob is not null) RequireAdmin();
            catalog.Remove(parse.GetValue(removeName)!);
            Console.WriteLine($"removed {parse.GetValue(removeName)}");
            return ExitCodes.Ok;
        });
        return new Command("models", "The model catalog") { list, import, verify, remove };
    }

    private static IEnumerable<KeyValuePair<string, string?>> Settings(ParseResult parse, Option<string?> modelsPath, Option<string?> source)
    {
        foreach (var setting in CommonOptions.Settings(parse, modelsPath)) yield return setting;
        if (parse.GetValue(source) is { } catalog) yield return new("Models:Source", catalog);
    }

    /// <summary>How a model's scores read: "scores 0..1, higher is better", or that the range is unknown.</summary>
    internal static string Scores(ModelManifest m)
    {
        var direction = m.Direction.Replace('-', ' ');
        return m.DeclaredRange() is { } r
            ? $"scores {r.Lower.ToString(CultureInfo.InvariantCulture)}..{r.Upper.ToString(CultureInfo.InvariantCulture)}, {direction}"
            : $"score range unknown, {direction}";
    }

    private static double[]? ParseRange(string? text)
    {
        if (text is null) return null;
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length == 2
            && double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var low)
            && double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var high)
            && double.IsFinite(low) && double.IsFinite(high) && low < high)
            return [low, high];
        throw new ArgumentException($"--score-range '{text}' is not LOW,HIGH with LOW < HIGH (e.g. 0,1 or 1,100)");
    }

    /// <summary>
    /// With a token configured (Security:Token), the cluster's catalog is changed only by an admin: the silos verify the
    /// token's role before the client writes. The catalog's blobs are written with the client's storage credentials, so
    /// this holds only as far as operators are not given those credentials (docs/security.md).
    /// </summary>
    private static void RequireAdmin()
    {
        var security = ClientSetup.Configuration().GetSection(Security.SecuritySettings.Section).Get<Security.SecuritySettings>();
        if (string.IsNullOrWhiteSpace(security?.Token) && string.IsNullOrWhiteSpace(security?.TokenFile)) return;
        Task.Run(async () =>
        {
            await using var connection = await ClusterConnection.Open([]);
            await connection.Client.GetGrain<IIdentityGrain>(0).RequireAdmin();
        }).GetAwaiter().GetResult();
    }

    internal static ModelCatalog Catalog(IEnumerable<KeyValuePair<string, string?>> settings) => ClientSetup.Models(settings);
}

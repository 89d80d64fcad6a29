using System.CommandLine;
using System.Text.Json;
using DpIqa.Models;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace DpIqa.Client.Commands;

/// <summary><c>dpiqa models</c>: the model catalog.</summary>
internal static class ModelsCommand
{
    public static Command Create()
    {
        var modelsPath = CommonOptions.ModelsPath();
        var json = CommonOptions.Json();
        var list = new Command("list", "List the models this machine can serve and which is the default") { modelsPath, json };
        list.SetAction(parse =>
        {
            var catalog = Catalog(CommonOptions.Settings(parse, modelsPath));
            var models = catalog.List();
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new { @default = catalog.DefaultModel, models }, new JsonSerializerOptions { WriteIndented = true }));
                return 0;
            }
            foreach (var m in models)
            {
                var mark = m.Name == catalog.DefaultModel ? " (default)" : "";
                Console.WriteLine($"{m.Name}{mark}  v{m.Version}  sha256 {m.Sha256[..12]}  {m.File}");
                Console.WriteLine($"    {m.Description}");
            }
            return 0;
        });
        var importFile = new Argument<string>("onnx") { Description = "The ONNX file (e.g. from tools/export/export.py)" };
        var importName = new Option<string>("--name") { Description = "Catalog name (lower-case letters, digits, . _ -)", Required = true };
        var importManifest = new Option<string?>("--manifest") { Description = "The exporter's manifest (NAME.json); without it the contract is read from the graph" };
        var importVersion = new Option<string?>("--version") { Description = "Version to record (default: the manifest's, else 1)" };
        var import = new Command("import", "Copy an ONNX model into the catalog and record its contract and sha256")
        {
            importFile, importName, importManifest, importVersion, modelsPath, json,
        };
        import.SetAction(parse =>
        {
            var catalog = Catalog(CommonOptions.Settings(parse, modelsPath));
            var m = catalog.Import(parse.GetValue(importFile)!, parse.GetValue(importName)!, parse.GetValue(importManifest), parse.GetValue(importVersion));
            Console.WriteLine(parse.GetValue(json)
                ? JsonSerializer.Serialize(m, new JsonSerializerOptions { WriteIndented = true })
                : $"imported {m.Name} v{m.Version} ({m.InputType} input '{m.Input}', output '{m.Output}', sha256 {m.Sha256[..12]}) into {catalog.Folder}");
            return ExitCodes.Ok;
        });

        var verify = new Command("verify", "Check every model's files against their sha256 and that ONNX Runtime loads them") { modelsPath, json };
        verify.SetAction(parse =>
        {
            var catalog = Catalog(CommonOptions.Settings(parse, modelsPath));
            var report = new List<object>();
            int failures = 0;
            foreach (var m in catalog.List())
            {
                string? error = null;
                try
                {
                    using var session = catalog.Resolve(m.Name).CreateSession(new Microsoft.ML.OnnxRuntime.SessionOptions());
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
        var remove = new Command("remove", "Delete an imported model from the catalog") { removeName, modelsPath };
        remove.SetAction(parse =>
        {
            Catalog(CommonOptions.Settings(parse, modelsPath)).Remove(parse.GetValue(removeName)!);
            Console.WriteLine($"removed {parse.GetValue(removeName)}");
            return ExitCodes.Ok;
        });
        return new Command("models", "The model catalog") { list, import, verify, remove };
    }

    internal static ModelCatalog Catalog(IEnumerable<KeyValuePair<string, string?>> settings)
    {
        var config = new ConfigurationBuilder().AddEnvironmentVariables().AddInMemoryCollection(settings).Build();
        var options = new ModelOptions();
        config.GetSection(ModelOptions.Section).Bind(options);
        return new ModelCatalog(Options.Create(options));
    }
}

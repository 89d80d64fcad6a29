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
        return new Command("models", "The model catalog") { list };
    }

    internal static ModelCatalog Catalog(IEnumerable<KeyValuePair<string, string?>> settings)
    {
        var config = new ConfigurationBuilder().AddEnvironmentVariables().AddInMemoryCollection(settings).Build();
        var options = new ModelOptions();
        config.GetSection(ModelOptions.Section).Bind(options);
        return new ModelCatalog(Options.Create(options));
    }
}

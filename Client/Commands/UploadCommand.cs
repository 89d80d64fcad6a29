using System.CommandLine;
using DpIqa.Imaging;
using DpIqa.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace DpIqa.Client.Commands;

/// <summary><c>dpiqa upload</c>: copy a local folder of images into blob storage (a dataset for <c>dpiqa job submit</c>).</summary>
internal static class UploadCommand
{
    public static Command Create()
    {
        var folder = new Argument<string>("folder") { Description = "Local folder (walked recursively for images)" };
        var to = new Option<string>("--to") { Description = "container[/prefix] (created if missing)", Required = true };
        var command = new Command("upload", "Upload a folder's images to Azure Blob Storage (Storage:ConnectionString)") { folder, to };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var target = JobCommand.Location("--to", parse.GetValue(to)!);
            if (!Locations.IsBlob(target)) throw new ArgumentException($"--to {parse.GetValue(to)}: upload copies into blob storage; name a container[/prefix]");
            var root = Path.GetFullPath(parse.GetValue(folder)!);
            if (!Directory.Exists(root)) throw new ArgumentException($"{root} is not a folder");
            var store = ClientSetup.ObjectStore();
            await store.PrepareOutput(target, cancellationToken);
            var files = Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).Where(f => ImageFormats.Extensions.Contains(Path.GetExtension(f))).ToList();
            await Parallel.ForEachAsync(files, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (f, ct) =>
                await store.WriteWhole(Locations.Join(target, Path.GetRelativePath(root, f).Replace('\\', '/')), await File.ReadAllBytesAsync(f, ct), ct));
            Console.WriteLine($"uploaded {files.Count} images to {target[Locations.BlobScheme.Length..]}");
            return ExitCodes.Ok;
        });
        return command;
    }
}

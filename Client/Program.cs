using System.CommandLine;
using DpIqa.Client.Commands;

var root = new RootCommand("dpiqa: score images for perceptual quality with DP-IQA models on an Orleans cluster (or in this process)");
root.Subcommands.Add(ScoreCommand.Create());
root.Subcommands.Add(PreprocessCommand.Create());
root.Subcommands.Add(ModelsCommand.Create());
root.Subcommands.Add(JobCommand.Create());
root.Subcommands.Add(UploadCommand.Create());
return await root.Parse(args).InvokeAsync();

using System.CommandLine;
using EmMask.Cli;
using EmMask.Cli.Commands;
using EmMask.Learning.Native;

var root = new RootCommand("emmask: brain (1) / non-brain (0) masks for volume electron microscopy.")
{
    GlobalOptions.Quiet,
};
root.Subcommands.Add(DemoCommand.Build());
root.Subcommands.Add(PhantomCommand.Build());
root.Subcommands.Add(MaskCommand.Build());
root.Subcommands.Add(BatchCommand.Build());
root.Subcommands.Add(PostprocessCommand.Build());
root.Subcommands.Add(EvalCommand.Build());
root.Subcommands.Add(TrainCommand.Build());
root.Subcommands.Add(FineTuneCommand.Build());

var parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    // One line, a named exit code: scripts should not have to parse usage text.
    Console.Error.WriteLine($"error: {parse.Errors[0].Message} (see 'emmask {string.Join(' ', parse.CommandResult.Command.Name)} --help')");
    return ExitCodes.BadArguments;
}

// EMMASK_LIBTORCH: an installed PyTorch's libtorch instead of the NuGet one beside us; before anything touches TorchSharp.
bool quiet = parse.GetValue(GlobalOptions.Quiet);
bool debug = Environment.GetEnvironmentVariable("EMMASK_DEBUG") == "1";
try
{
    if (InstalledLibTorch.ApplyFromEnvironment() is { } libtorch)
    {
        if (libtorch.Warning is { } warning)
        {
            Console.Error.WriteLine($"warning: {warning}");
        }

        if (!quiet)
        {
            Console.Error.WriteLine(InstalledLibTorch.Describe(libtorch));
        }
    }
}
catch (LibTorchSelectionException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return ExitCodes.BadArguments;
}

int exitCode = await parse.InvokeAsync();
if (debug)
{
    // Which libtorch files this process mapped (tests check that only one copy was loaded).
    Console.Error.WriteLine($"debug: libtorch mapped: {string.Join(' ', InstalledLibTorch.MappedLibTorchFiles())}");
}

return exitCode;

using System.CommandLine;
using EmMask.Cli;
using EmMask.Cli.Commands;

var root = new RootCommand("emmask: brain (1) / non-brain (0) masks for volume electron microscopy.")
{
    GlobalOptions.Quiet,
};
root.Subcommands.Add(DemoCommand.Build());
root.Subcommands.Add(PhantomCommand.Build());
root.Subcommands.Add(MaskCommand.Build());
root.Subcommands.Add(PostprocessCommand.Build());
root.Subcommands.Add(EvalCommand.Build());
root.Subcommands.Add(TrainCommand.Build());

var parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    // One line, a named exit code: scripts should not have to parse usage text.
    Console.Error.WriteLine($"error: {parse.Errors[0].Message} (see 'emmask {string.Join(' ', parse.CommandResult.Command.Name)} --help')");
    return ExitCodes.BadArguments;
}

return await parse.InvokeAsync();

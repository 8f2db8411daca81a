using System.CommandLine;

namespace EmMask.Cli.Commands;

/// <summary>Options every command accepts.</summary>
public static class GlobalOptions
{
    /// <summary>--quiet: no progress or info lines (warnings and errors still go to stderr).</summary>
    public static readonly Option<bool> Quiet = new("--quiet", "-q") { Description = "No progress display or info lines.", Recursive = true };

    /// <summary>--force: replace existing outputs (still atomically).</summary>
    public static Option<bool> Force() => new("--force", "-f") { Description = "Replace an existing output (the write stays atomic: a failed run never changes it)." };

    /// <summary>--json: a machine-readable summary on stdout.</summary>
    public static Option<bool> Json() => new("--json") { Description = "Print a JSON summary on stdout." };
}

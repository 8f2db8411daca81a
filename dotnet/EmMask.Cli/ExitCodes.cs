namespace EmMask.Cli;

/// <summary>The process exit codes of <c>emmask</c>; scripts can rely on them.</summary>
public static class ExitCodes
{
    /// <summary>Success.</summary>
    public const int Ok = 0;

    /// <summary>An unexpected internal error (a bug: please report it).</summary>
    public const int InternalError = 1;

    /// <summary>Bad command-line arguments or parameter values.</summary>
    public const int BadArguments = 2;

    /// <summary>The input could not be read or is not a usable volume (missing, corrupt, wrong shape or type).</summary>
    public const int BadInput = 3;

    /// <summary>The output exists and --force was not given, or could not be written.</summary>
    public const int OutputError = 4;

    /// <summary>A model file is missing, corrupt or does not match.</summary>
    public const int ModelError = 5;

    /// <summary>Cancelled (Ctrl-C).</summary>
    public const int Cancelled = 130;
}

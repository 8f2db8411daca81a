using EmMask.Cli.Console;
using EmMask.Core.Volumes;
using EmMask.IO;

namespace EmMask.Cli;

/// <summary>Turns exceptions into one-line messages and named exit codes; stack traces only with EMMASK_DEBUG=1.</summary>
public static class CliErrors
{
    /// <summary>Runs a command body and maps its failure to an exit code.</summary>
    public static int Run(IReporter reporter, Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            int code = Classify(e);
            reporter.Error(code == ExitCodes.InternalError ? $"internal error: {e.GetType().Name}: {Describe(e)}" : Describe(e));
            if (Environment.GetEnvironmentVariable("EMMASK_DEBUG") == "1")
            {
                System.Console.Error.WriteLine(e);
            }

            return code;
        }
    }

    /// <summary>The exit code for an exception.</summary>
    public static int Classify(Exception e) => e switch
    {
        OperationCanceledException => ExitCodes.Cancelled,
        OutputExistsException => ExitCodes.OutputError,
        VolumeFormatException or InvalidVolumeException or NotSupportedException => ExitCodes.BadInput,
        ArgumentException => ExitCodes.BadArguments,
        Learning.Models.ModelNotFoundException => ExitCodes.ModelError,
        FileNotFoundException or DirectoryNotFoundException => ExitCodes.BadInput,
        UnauthorizedAccessException or IOException => ExitCodes.OutputError,
        _ when e.GetType().Name.Contains("Model", StringComparison.Ordinal) => ExitCodes.ModelError,
        _ => ExitCodes.InternalError,
    };

    /// <summary>The exception's message on one line, without .NET's "(Parameter 'x')" and "Actual value was" suffixes.</summary>
    public static string Describe(Exception e)
    {
        string message = e.Message;
        if (e is ArgumentException { ParamName: { } name })
        {
            int actual = message.IndexOf("Actual value was", StringComparison.Ordinal);
            if (actual >= 0)
            {
                message = message[..actual];
            }

            message = message.Replace($" (Parameter '{name}')", string.Empty, StringComparison.Ordinal);
        }

        return message.ReplaceLineEndings(" ").Trim();
    }
}

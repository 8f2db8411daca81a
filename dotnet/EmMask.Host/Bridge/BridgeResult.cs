namespace EmMask.Host.Bridge;

/// <summary>
/// The outcome of a bridge call. Bridge methods never throw: a .NET exception crossing into Python (or into native
/// code through a callback) would lose its message or crash the host, so every failure comes back here and the
/// Python side raises <c>em_mask.EmMaskError</c> with <see cref="Message"/>.
/// </summary>
public sealed class BridgeResult
{
    /// <summary>True when the call completed.</summary>
    public bool Ok { get; private init; }

    /// <summary>
    /// "cancelled", "argument" (bad parameter or input), "format" (unreadable data), "unavailable" (a model file or
    /// the U-Net worker is missing), "worker" (the U-Net worker process died or hung; the next call starts a new one)
    /// or "internal".
    /// </summary>
    public string ErrorKind { get; private init; } = string.Empty;

    /// <summary>One-line user-facing message for a failure.</summary>
    public string Message { get; private init; } = string.Empty;

    /// <summary>Full exception text (type and stack) for bug reports; empty on success.</summary>
    public string Details { get; private init; } = string.Empty;

    /// <summary>A scalar result when the call has one (the classical masker's threshold), otherwise NaN.</summary>
    public double Value { get; init; } = double.NaN;

    /// <summary>A JSON result when the call has one (e.g. the phantom's shape), otherwise empty.</summary>
    public string Json { get; init; } = string.Empty;

    /// <summary>A successful result.</summary>
    public static BridgeResult Success(double value = double.NaN, string json = "") => new() { Ok = true, Value = value, Json = json };

    /// <summary>Maps an exception onto a failed result.</summary>
    public static BridgeResult Failure(Exception exception)
    {
        string kind = exception switch
        {
            OperationCanceledException => "cancelled",
            UnavailableException => "unavailable",
            Remote.WorkerCrashedException => "worker",
            Remote.WorkerException w => WorkerErrorKind(w.RemoteType),
            ArgumentException or NotSupportedException or InvalidOperationException => "argument",
            IO.VolumeFormatException or FileNotFoundException or DirectoryNotFoundException => "format",
            System.Text.Json.JsonException => "argument",

            // The core's own exception types (InvalidVolumeException, ...) carry one-line user-facing messages.
            _ when exception.GetType().Namespace?.StartsWith("EmMask", StringComparison.Ordinal) == true => "argument",
            _ => "internal",
        };
        string message = kind switch
        {
            "cancelled" => "Cancelled.",
            "internal" => $"{exception.GetType().Name}: {exception.Message}",
            _ => OneLine(exception),
        };
        return new BridgeResult { Ok = false, ErrorKind = kind, Message = message, Details = exception.ToString() };
    }

    /// <summary>Kind of an error the worker reported, from the exception type it raised there.</summary>
    private static string WorkerErrorKind(string? remoteType) => remoteType switch
    {
        nameof(FileNotFoundException) or nameof(DirectoryNotFoundException) or "ModelNotFoundException" => "unavailable",
        nameof(OperationCanceledException) or nameof(TaskCanceledException) => "cancelled",
        nameof(InvalidDataException) or "VolumeFormatException" => "format",
        nameof(ArgumentException) or nameof(ArgumentOutOfRangeException) or nameof(ArgumentNullException) or
            nameof(NotSupportedException) or nameof(InvalidOperationException) => "argument",
        _ => "internal",
    };

    /// <summary>The first line of the message, without .NET's " (Parameter 'x')" suffix, which means nothing in Python.</summary>
    private static string OneLine(Exception exception)
    {
        string message = exception.Message.Split('\n')[0].TrimEnd();
        if (exception is ArgumentException { ParamName: { } name })
        {
            string suffix = $" (Parameter '{name}')";
            if (message.EndsWith(suffix, StringComparison.Ordinal))
            {
                message = message[..^suffix.Length];
            }
        }

        return message;
    }

    /// <summary>Runs <paramref name="body"/> and turns any exception into a failed result.</summary>
    internal static BridgeResult Guard(Func<BridgeResult> body)
    {
        try
        {
            return body();
        }
        catch (Exception exception)
        {
            return Failure(exception);
        }
    }
}

/// <summary>Something a call needs is not installed (e.g. the worker executable); maps to kind "unavailable".</summary>
internal sealed class UnavailableException(string message, Exception? inner = null) : Exception(message, inner);

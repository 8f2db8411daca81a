namespace EmMask.Remote;

/// <summary>The worker ran the request and reported an error; the message is the worker's.</summary>
public sealed class WorkerException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">The worker's one-line error message.</param>
    /// <param name="remoteType">The .NET exception type name inside the worker (e.g. FileNotFoundException).</param>
    public WorkerException(string message, string? remoteType = null)
        : base(message)
    {
        RemoteType = remoteType;
    }

    /// <summary>The exception type raised in the worker, when known.</summary>
    public string? RemoteType { get; }
}

/// <summary>
/// The worker process died, hung, or could not be started while a request was pending. The client stays usable:
/// the next call starts a fresh worker.
/// </summary>
public sealed class WorkerCrashedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public WorkerCrashedException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}

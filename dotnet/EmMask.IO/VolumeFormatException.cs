namespace EmMask.IO;

/// <summary>
/// A file or dataset that cannot be read or written as a volume. The message is one line meant for the user
/// (it names the file and the problem); the CLI prints it without a stack trace.
/// </summary>
public sealed class VolumeFormatException : Exception
{
    /// <summary>Creates the exception.</summary>
    public VolumeFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with the low-level cause.</summary>
    public VolumeFormatException(string message, Exception inner)
        : base(message, inner)
    {
    }
}

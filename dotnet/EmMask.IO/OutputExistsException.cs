namespace EmMask.IO;

/// <summary>The output already exists and replacing it was not allowed (no --force).</summary>
public sealed class OutputExistsException : IOException
{
    /// <summary>Creates the exception for an output path.</summary>
    public OutputExistsException(string output)
        : base($"{output} already exists; use --force to replace it.")
    {
        Output = output;
    }

    /// <summary>The output that exists.</summary>
    public string Output { get; }
}

namespace EmMask.Learning.Models;

/// <summary>
/// A model file could not be used: missing, unreadable/corrupt, or its weights do not fit the
/// architecture. The message is one user-facing line naming the file and, where relevant, the
/// offending state_dict key and shapes.
/// </summary>
public sealed class ModelLoadException : Exception
{
    /// <summary>Creates the exception with a one-line message.</summary>
    public ModelLoadException(string message, Exception? inner = null) : base(message, inner) { }
}

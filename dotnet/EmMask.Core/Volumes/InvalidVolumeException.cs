namespace EmMask.Core.Volumes;

/// <summary>A volume whose content cannot be processed (empty axis, no finite value, wrong dimensionality).</summary>
public sealed class InvalidVolumeException : ArgumentException
{
    /// <summary>Creates the exception with a one-line message for the user.</summary>
    public InvalidVolumeException(string message)
        : base(message)
    {
    }
}

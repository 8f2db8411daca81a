using EmMask.Core.Masking;
using EmMask.Core.Progress;
using EmMask.Core.Volumes;

namespace EmMask.Cli.Services;

/// <summary>The U-Net method behind <c>emmask mask --method unet</c>.</summary>
public static class UNetMethod
{
    /// <summary>Runs the U-Net on a volume.</summary>
    public static MaskResult Run(IVolume input, UNetSettings settings, IProgress<ProgressReport> progress, CancellationToken ct) =>
        throw new NotSupportedException("The U-Net method is not wired into this build yet.");
}

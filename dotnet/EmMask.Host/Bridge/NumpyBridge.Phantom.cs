using EmMask.Core.Phantom;
using EmMask.Core.Progress;
using EmMask.Core.Volumes;

namespace EmMask.Host.Bridge;

/// <summary>Synthetic data entry point.</summary>
public static partial class NumpyBridge
{
    /// <summary>
    /// Generates an EM phantom (<see cref="EmPhantom.Generate(PhantomOptions, CancellationToken)"/>) into two
    /// C-contiguous uint8 buffers of shape (z, y, x) that Python allocated: raw intensities and 0/1 truth.
    /// <see cref="BridgeResult.Json"/> holds the voxel size as <c>[z, y, x]</c> (nm).
    /// </summary>
    public static BridgeResult Phantom(int seed, int z, int y, int x, bool invert, long rawAddress, long truthAddress, BridgeJob job) =>
        BridgeResult.Guard(() =>
        {
            ArgumentNullException.ThrowIfNull(job);
            var options = new PhantomOptions { Seed = seed, Shape = new Shape3(z, y, x), Invert = invert };
            job.Report(new ProgressReport("phantom", 0));
            PhantomVolume phantom = TimeCore(job, () => EmPhantom.Generate(options, job.Token));
            NumpyArray.CopyToOutput(phantom.Raw, rawAddress, "raw");
            NumpyArray.CopyToOutput(phantom.Truth, truthAddress, "truth");
            job.Report(new ProgressReport("phantom", 1));
            var v = options.VoxelSize;
            return BridgeResult.Success(json: System.FormattableString.Invariant($"[{v.Z}, {v.Y}, {v.X}]"));
        });
}

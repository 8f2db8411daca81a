using EmMask.Core.PostProcessing;
using EmMask.Core.Volumes;

namespace EmMask.Host.Bridge;

/// <summary>Post-processing entry point.</summary>
public static partial class NumpyBridge
{
    /// <summary>
    /// Runs a post-processing pipeline on a 0/1 uint8 mask. When <paramref name="outAddress"/> equals
    /// <paramref name="address"/> (and the mask is C-contiguous) the caller's buffer is edited in place; otherwise the
    /// mask is copied into the C-contiguous output buffer of the same shape first and processed there.
    /// </summary>
    /// <param name="address">Address of the mask's first element.</param>
    /// <param name="shape">2 or 3 axis lengths.</param>
    /// <param name="strides">Byte strides, one per axis.</param>
    /// <param name="dtype">numpy dtype string; must be uint8.</param>
    /// <param name="outAddress">C-contiguous uint8 output of the same shape (may be <paramref name="address"/>).</param>
    /// <param name="ops">A preset name (<see cref="PostProcessPresets"/>) or a pipeline spec (<see cref="PostProcessPipeline.Parse"/>).</param>
    /// <param name="voxelSizeZ">Voxel spacing along z (distances in <c>grow</c>/<c>erode</c> use this unit).</param>
    /// <param name="voxelSizeY">Voxel spacing along y.</param>
    /// <param name="voxelSizeX">Voxel spacing along x.</param>
    /// <param name="job">Progress and cancellation for this call.</param>
    public static BridgeResult PostProcess(
        long address, long[] shape, long[] strides, string dtype, long outAddress, string ops,
        double voxelSizeZ, double voxelSizeY, double voxelSizeX, BridgeJob job) =>
        BridgeResult.Guard(() =>
        {
            ArgumentNullException.ThrowIfNull(job);
            PostProcessPipeline pipeline = ResolvePipeline(ops);
            var voxelSize = new VoxelSize(voxelSizeZ, voxelSizeY, voxelSizeX).Validate();
            var input = new NumpyArray(address, shape, strides, dtype);
            Volume<byte> source = input.ToVolume<byte>(voxelSize, job);
            Volume<byte> target = source;
            if (outAddress == address && job.InputCopied)
            {
                throw new ArgumentException("In-place post-processing needs a C-contiguous mask; pass a separate output.", "out");
            }

            if (outAddress != address)
            {
                target = NumpyArray.WrapOutput<byte>(outAddress, input.Shape3, voxelSize, "out");
                source.Span.CopyTo(target.Span);
            }

            TimeCore(job, () =>
            {
                pipeline.Apply(target, job, job.Token);
                return 0;
            });
            return BridgeResult.Success(json: pipeline.ToSpec());
        });

    /// <summary>The post-processing presets as JSON: <c>{"name": "spec", ...}</c>.</summary>
    public static string PostProcessPresetsJson() =>
        System.Text.Json.JsonSerializer.Serialize(PostProcessPresets.All.ToDictionary(p => p.Key, p => p.Value.ToSpec()));

    /// <summary>A preset name wins over a spec; anything else is parsed as a spec (and fails with the parser's message).</summary>
    internal static PostProcessPipeline ResolvePipeline(string ops)
    {
        ArgumentNullException.ThrowIfNull(ops);
        return PostProcessPresets.All.TryGetValue(ops.Trim(), out var preset) ? preset : PostProcessPipeline.Parse(ops);
    }
}

using System.Text.Json;
using EmMask.Core.Masking;
using EmMask.Core.Volumes;

namespace EmMask.Host.Bridge;

/// <summary>Classical masker entry point.</summary>
public static partial class NumpyBridge
{
    /// <summary>
    /// Runs <see cref="ClassicalMasker.Run"/> on a uint8, uint16 or float32 array read in place.
    /// <see cref="BridgeResult.Value"/> is the threshold used; <see cref="BridgeResult.Json"/> is
    /// <c>{"warnings": [...], "mask": [id, address], "confidence": [id, address]}</c>: the masker's own result arrays,
    /// pinned and lent to Python without a copy (<see cref="LentBuffers"/>; Python releases the ids). When
    /// <paramref name="maskAddress"/> and <paramref name="confidenceAddress"/> are non-zero the results are copied into
    /// those C-contiguous buffers instead, and nothing is lent.
    /// </summary>
    /// <param name="address">Address of the image's first element.</param>
    /// <param name="shape">2 or 3 axis lengths.</param>
    /// <param name="strides">Byte strides, one per axis.</param>
    /// <param name="dtype">numpy dtype string (uint8, uint16 or float32).</param>
    /// <param name="maskAddress">uint8 output buffer, or 0 to borrow the masker's.</param>
    /// <param name="confidenceAddress">float32 output buffer, or 0 to borrow the masker's.</param>
    /// <param name="optionsJson">
    /// <see cref="ClassicalMaskOptions"/> property names with values (missing = default; <c>Threshold</c> null = auto),
    /// plus <c>VoxelSize</c> as <c>[z, y, x]</c>.
    /// </param>
    /// <param name="job">Progress and cancellation for this call.</param>
    public static BridgeResult ClassicalMask(
        long address, long[] shape, long[] strides, string dtype, long maskAddress, long confidenceAddress,
        string optionsJson, BridgeJob job) =>
        BridgeResult.Guard(() =>
        {
            ArgumentNullException.ThrowIfNull(job);
            var (options, voxelSize) = ParseClassicalOptions(optionsJson);
            options.Validate();
            var input = new NumpyArray(address, shape, strides, dtype);
            IVolume volume = input.ToVolume(voxelSize, job);
            MaskResult result = TimeCore(job, () => ClassicalMasker.Run(volume, options, job, job.Token));
            var watch = System.Diagnostics.Stopwatch.StartNew();
            var json = new Dictionary<string, object?> { ["warnings"] = result.Warnings, ["notes"] = result.Notes ?? [], ["unsplit_sections"] = result.UnsplitSections };
            if (maskAddress != 0 && confidenceAddress != 0)
            {
                NumpyArray.CopyToOutput(result.Mask, maskAddress, "mask");
                NumpyArray.CopyToOutput(result.Confidence, confidenceAddress, "confidence");
            }
            else
            {
                var mask = LentBuffers.Lend(result.Mask);
                var confidence = LentBuffers.Lend(result.Confidence);
                json["mask"] = new[] { mask.Id, mask.Address };
                json["confidence"] = new[] { confidence.Id, confidence.Address };
            }

            job.OutputSeconds = watch.Elapsed.TotalSeconds;
            return BridgeResult.Success(result.Threshold, JsonSerializer.Serialize(json));
        });

    /// <summary>
    /// <see cref="ClassicalMaskOptions.Default"/> in its JSON form (<c>block_size</c>, ..., <c>threshold</c> = "auto"): the
    /// Python side takes its defaults and choices from here.
    /// </summary>
    public static string ClassicalDefaultsJson() => ClassicalMaskOptions.Default.ToJson();

    /// <summary>
    /// The classical options' schema (<see cref="Core.Options.OptionsSchema"/>): key, kind, default, choices, range, label
    /// and help of every parameter, from which the Python API documents and the napari panel builds its widgets.
    /// </summary>
    public static string ClassicalSchemaJson() => Core.Options.OptionsSchema.ToJson(ClassicalMaskOptions.Default);

    /// <summary>Reads the options JSON the Python side writes (the options' JSON form plus <c>voxel_size</c>); unknown keys are an error so typos do not pass silently.</summary>
    internal static (ClassicalMaskOptions Options, VoxelSize VoxelSize) ParseClassicalOptions(string json)
    {
        var (options, voxelSize) = BridgeOptions.SplitVoxelSize(json, "Classical");
        return (ClassicalMaskOptions.FromJson(options), voxelSize);
    }
}

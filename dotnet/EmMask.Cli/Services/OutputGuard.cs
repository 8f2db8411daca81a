using EmMask.Core.Volumes;
using EmMask.IO;

namespace EmMask.Cli.Services;

/// <summary>Fails fast, before any compute, when an output exists and --force was not given.</summary>
public static class OutputGuard
{
    /// <summary>
    /// Throws <see cref="ArgumentException"/> when <paramref name="output"/> is the array <paramref name="input"/> is
    /// read from: writing there would replace the image, so not even <c>--force</c> allows it.
    /// </summary>
    public static void CheckNotInput(VolumePath output, VolumePath input, string what = "the mask")
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(input);
        if (input.Kind == VolumeFileKind.Sequence && output.Kind != VolumeFileKind.Sequence
            && VolumeReader.SequenceFiles(input).Any(f => string.Equals(Path.GetFullPath(f), Path.GetFullPath(output.File), StringComparison.Ordinal)))
        {
            throw new ArgumentException($"{output} is a section of the input {input}: writing {what} there would replace it. Choose another file.");
        }

        if (output.SameVolumeAs(input))
        {
            string hint = output.Kind == VolumeFileKind.Hdf5 ? $", or another dataset of the same file ({output.File}:/mask)" : string.Empty;
            throw new ArgumentException($"{output} is the input image {input}: writing {what} there would replace the image. Choose another file{hint}.");
        }
    }

    /// <summary>
    /// Throws <see cref="VolumeFormatException"/>, before any compute, when <paramref name="output"/> cannot hold what a
    /// run on <paramref name="input"/> writes (<see cref="VolumeWriter.CheckCanHold"/>): the mask (uint8), or the
    /// confidence (<paramref name="floats"/>, float32), of the input's shape, or of one section for a colour image.
    /// </summary>
    public static void CheckCanHold(VolumePath output, VolumePath input, bool floats = false)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(input);
        if (output.Kind is not (VolumeFileKind.Image or VolumeFileKind.Sequence))
        {
            return; // these hold any volume; nothing to read
        }

        var shape = VolumeReader.ReadShape(input);
        if (ColorImage.Looks(shape, VolumeReader.ReadRank(input)))
        {
            shape = new Shape3(1, shape.Z, shape.Y);
        }

        VolumeWriter.CheckCanHold(output, shape, floats ? VoxelType.Float32 : VoxelType.UInt8);
    }

    /// <summary>Throws <see cref="OutputExistsException"/> if <paramref name="output"/> exists and replacing is not allowed.</summary>
    public static void Check(VolumePath output, bool force)
    {
        if (force || !File.Exists(output.File))
        {
            return;
        }

        if (output.Kind != VolumeFileKind.Hdf5)
        {
            throw new OutputExistsException(output.ToString());
        }

        // An HDF5 file may gain a new dataset; only an existing dataset of the same name is an existing output.
        IReadOnlyList<string> datasets;
        try
        {
            datasets = VolumeReader.ListDatasets(output.File);
        }
        catch (VolumeFormatException)
        {
            throw new OutputExistsException(output.ToString());
        }

        string wanted = "/" + (output.Dataset ?? string.Empty).Trim('/');
        if (datasets.Any(d => "/" + d.Trim('/') == wanted))
        {
            throw new OutputExistsException(output.ToString());
        }
    }
}

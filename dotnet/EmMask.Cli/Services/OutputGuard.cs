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
    /// Throws <see cref="ArgumentException"/>, before any compute, when <paramref name="output"/> is an image file that
    /// cannot hold <paramref name="what"/>: only a PNG of one 8-bit section can (a mask of a single section or of one
    /// colour image); not a stack, not a float confidence, not a JPEG or BMP.
    /// </summary>
    public static void CheckImageOutput(VolumePath output, VolumePath input, string what = "the mask", bool floats = false)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(input);
        if (output.Kind == VolumeFileKind.Sequence)
        {
            throw new ArgumentException($"{output}: a folder or pattern of section files is input only; write {what} as .h5, .tif or .npy.");
        }

        if (output.Kind != VolumeFileKind.Image)
        {
            return;
        }

        if (!output.File.EndsWith(".png", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"{output}: {Path.GetExtension(output.File)} is read only; write {what} as .png (lossless), .tif, .npy or .h5.");
        }

        if (floats)
        {
            throw new ArgumentException($"{output}: {what} is float32, which a PNG cannot hold; write it as .tif, .npy or .h5.");
        }

        var shape = VolumeReader.ReadShape(input);
        if (shape.Z > 1 && !ColorImage.Looks(shape, VolumeReader.ReadRank(input)))
        {
            throw new ArgumentException($"{output}: the input has {shape.Z} sections and a PNG holds one; write {what} as .tif, .npy or .h5.");
        }
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

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
        if (input.Kind == VolumeFileKind.Sequence)
        {
            var sections = VolumeReader.SequenceFiles(input).Select(Path.GetFullPath).ToHashSet(StringComparer.Ordinal);
            IReadOnlyList<string> targets = output.Kind == VolumeFileKind.Sequence ? VolumeWriter.ExistingSectionFiles(output) : [output.File];
            if (targets.Any(t => sections.Contains(Path.GetFullPath(t))))
            {
                throw new ArgumentException($"{output} names sections of the input {input}: writing {what} there would replace them. Choose other files.");
            }
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
        if (output.Kind is not (VolumeFileKind.Image or VolumeFileKind.Sequence or VolumeFileKind.N5))
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

    /// <summary>
    /// The warning for files of a one-file-per-section output's pattern that a write of <paramref name="sections"/>
    /// sections left as they were (<see cref="VolumeWriter.LeftoverSectionFiles"/>); null when there are none.
    /// </summary>
    public static string? LeftoverWarning(VolumePath output, int sections)
    {
        ArgumentNullException.ThrowIfNull(output);
        var left = VolumeWriter.LeftoverSectionFiles(output, sections);
        return left.Count == 0 ? null
            : $"{left.Count} other file{(left.Count == 1 ? string.Empty : "s")} match {output} and were left as they are ({Path.GetFileName(left[0])}{(left.Count > 1 ? $" … {Path.GetFileName(left[^1])}" : string.Empty)}, from an earlier run?): "
              + $"a read of the pattern stacks them with this mask's {sections} section{(sections == 1 ? string.Empty : "s")}; delete them or write to a new pattern.";
    }

    /// <summary>Throws <see cref="OutputExistsException"/> if <paramref name="output"/> exists and replacing is not allowed.</summary>
    public static void Check(VolumePath output, bool force)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (!force && Existing(output) is { } existing)
        {
            throw new OutputExistsException(existing);
        }
    }

    /// <summary>
    /// What of <paramref name="output"/> exists already, or null: for one file per section, the first file of the pattern
    /// (any of them is output); for HDF5, the dataset (a file may gain a new dataset), or the file when it is not
    /// readable as HDF5; else the file.
    /// </summary>
    public static string? Existing(VolumePath output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (VolumeWriter.ExistingSectionFiles(output).FirstOrDefault() is { } section)
        {
            return section;
        }

        if (output.Kind == VolumeFileKind.Zarr)
        {
            return Directory.Exists(output.File) || File.Exists(output.File) ? output.File : null;
        }

        if (!File.Exists(output.File))
        {
            return null;
        }

        if (output.Kind != VolumeFileKind.Hdf5)
        {
            return output.ToString();
        }

        IReadOnlyList<string> datasets;
        try
        {
            datasets = VolumeReader.ListDatasets(output.File);
        }
        catch (VolumeFormatException)
        {
            return output.ToString();
        }

        return output.IsListedIn(datasets) ? output.ToString() : null;
    }
}

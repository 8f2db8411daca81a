namespace EmMask.IO;

/// <summary>
/// Where a volume lives: a file and, for HDF5, the dataset inside it. The text form is the one users type:
/// <c>a.h5:/raw</c>, <c>a.hdf5:/group/raw</c>, <c>a.h5</c> (the caller's default dataset), <c>stack.tif</c>, <c>vol.npy</c>,
/// <c>overview.png</c>, <c>sections/</c> or <c>sections/*.png</c> (one file per section).
/// </summary>
/// <param name="File">The file path.</param>
/// <param name="Dataset">The absolute HDF5 dataset path (starts with '/'); null for the other formats.</param>
public sealed record VolumePath(string File, string? Dataset)
{
    private static readonly string[] Hdf5Extensions = [".h5", ".hdf5", ".hdf"];

    /// <summary>The format, by the file's extension; an unknown extension throws <see cref="VolumeFormatException"/>.</summary>
    public VolumeFileKind Kind => KindOf(File);

    /// <summary>
    /// Parses <c>file[:dataset]</c>. The text splits at the first ':' that follows an HDF5 file name
    /// (<c>.h5</c>, <c>.hdf5</c>, <c>.hdf</c>); an HDF5 file without a dataset gets <paramref name="defaultDataset"/>.
    /// A dataset without a leading '/' is taken from the root group. Windows drive letters are not handled.
    /// </summary>
    /// <exception cref="ArgumentException">The text or the default dataset is empty.</exception>
    /// <exception cref="VolumeFormatException">The extension is not one of the supported formats.</exception>
    public static VolumePath Parse(string text, string defaultDataset)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(text);
        ArgumentException.ThrowIfNullOrWhiteSpace(defaultDataset);

        string file = text;
        string? dataset = null;
        int search = 0;
        while (true)
        {
            int colon = text.IndexOf(':', search);
            if (colon < 0)
            {
                break;
            }

            if (HasHdf5Extension(text[..colon]))
            {
                file = text[..colon];
                dataset = text[(colon + 1)..];
                break;
            }

            search = colon + 1;
        }

        var kind = KindOf(file);
        if (kind != VolumeFileKind.Hdf5)
        {
            return new VolumePath(file, null);
        }

        if (string.IsNullOrWhiteSpace(dataset))
        {
            dataset = defaultDataset;
        }

        return new VolumePath(file, NormalizeDataset(dataset));
    }

    /// <summary>
    /// True when both name the same stored array: the same file (full path) and, for HDF5, the same dataset. Writing one
    /// replaces the other.
    /// </summary>
    public bool SameVolumeAs(VolumePath other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return string.Equals(Path.GetFullPath(File), Path.GetFullPath(other.File), StringComparison.Ordinal)
            && (Dataset is null || other.Dataset is null || string.Equals(Dataset, other.Dataset, StringComparison.Ordinal));
    }

    /// <summary>
    /// Whether <paramref name="datasets"/> (an HDF5 file's dataset names as <see cref="VolumeReader.ListDatasets"/> lists
    /// them, with or without the leading '/') hold this path's dataset; false for a path without one.
    /// </summary>
    public bool IsListedIn(IEnumerable<string> datasets)
    {
        ArgumentNullException.ThrowIfNull(datasets);
        return Dataset is { } wanted && datasets.Any(d => string.Equals("/" + d.Trim('/'), wanted, StringComparison.Ordinal));
    }

    /// <summary>The text form, <c>file</c> or <c>file:/dataset</c>.</summary>
    public override string ToString() => Dataset is null ? File : $"{File}:{Dataset}";

    /// <summary>Makes a dataset path absolute and drops a trailing '/'.</summary>
    internal static string NormalizeDataset(string dataset)
    {
        string d = dataset.Trim();
        if (!d.StartsWith('/'))
        {
            d = "/" + d;
        }

        d = d.TrimEnd('/');
        if (d.Length == 0 || d.Contains("//", StringComparison.Ordinal))
        {
            throw new VolumeFormatException($"'{dataset}' is not a valid HDF5 dataset path.");
        }

        return d;
    }

    internal static VolumeFileKind KindOf(string file)
    {
        if (HasHdf5Extension(file))
        {
            return VolumeFileKind.Hdf5;
        }

        if (Formats.ChunkedArray.Names(file))
        {
            return VolumeFileKind.Zarr;
        }

        if (Formats.ChunkedArray.NamesN5(file))
        {
            return VolumeFileKind.N5;
        }

        if (Formats.SectionSequence.Names(file))
        {
            return VolumeFileKind.Sequence;
        }

        string ext = Path.GetExtension(file).ToLowerInvariant();
        return ext switch
        {
            ".tif" or ".tiff" => VolumeFileKind.Tiff,
            ".npy" => VolumeFileKind.Npy,
            _ when Formats.MrcFormat.Extensions.Contains(ext) => VolumeFileKind.Mrc,
            _ when Formats.RasterImageFormat.Extensions.Contains(ext) => VolumeFileKind.Image,
            _ => throw new VolumeFormatException(
                $"{file}: unknown volume format '{ext}'; use .h5/.hdf5 (with :/dataset), .tif/.tiff, .npy, .mrc, a Zarr array or N5 dataset folder, one image (.png, .jpg, .bmp), or a folder or pattern of section files (s/*.tif)."),
        };
    }

    private static bool HasHdf5Extension(string file) =>
        Hdf5Extensions.Any(e => file.EndsWith(e, StringComparison.OrdinalIgnoreCase) && file.Length > e.Length);
}

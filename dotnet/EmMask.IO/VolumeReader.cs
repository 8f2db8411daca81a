using EmMask.Core.Volumes;
using EmMask.IO.Formats;

namespace EmMask.IO;

/// <summary>
/// Reads volumes from HDF5, multi-page TIFF, <c>.npy</c>, MRC (<see cref="MrcFormat"/>), Zarr v2 arrays and N5
/// datasets (<see cref="ChunkedArray"/>), single PNG / JPEG / BMP images and sequences of section files
/// (<see cref="SectionSequence"/>). Every problem with the input (missing file or dataset,
/// wrong or corrupt format, unsupported dtype or rank, 0-length axis) is a <see cref="VolumeFormatException"/> with
/// one line naming the file and the problem. uint8, uint16 and float32 are read as-is; bool as uint8; other integer
/// types and float64 are converted to float32 (integers only when every value is within ±2^24, where float32 is
/// exact; float64 is rounded). Complex, string and compound data are refused. The voxel size comes from
/// <c>element_size_um</c> (µm, z/y/x, as ilastik writes it) or <c>resolution</c> (nm), else it is (1, 1, 1).
/// </summary>
public static class VolumeReader
{
    /// <summary>Reads a whole volume; a 2D image becomes one z slice.</summary>
    /// <exception cref="VolumeFormatException">The input cannot be read as a volume.</exception>
    public static IVolume Read(VolumePath path, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        return path.Kind switch
        {
            VolumeFileKind.Hdf5 => Hdf5Reader.Read(path.File, DatasetOf(path), ct),
            VolumeFileKind.Tiff => TiffFormat.Read(path.File, ct),
            VolumeFileKind.Image => RasterImageFormat.Read(path.File, ct),
            VolumeFileKind.Sequence => SectionSequence.Read(path.File, ct),
            VolumeFileKind.Mrc => MrcFormat.Read(path.File, ct),
            VolumeFileKind.Zarr or VolumeFileKind.N5 => ReadChunked(path.File, ct),
            _ => ReadNpy(path.File, ct),
        };
    }

    /// <summary>
    /// Reads the block of <paramref name="size"/> voxels starting at <paramref name="offset"/> (z, y, x) without
    /// loading the rest: an HDF5 hyperslab (only the chunks it touches are decoded), row seeks in a C-ordered
    /// <c>.npy</c>, the block's pages of a multi-page TIFF (each decoded whole, then cropped), or the block's section files
    /// of a sequence. Images, colour TIFF and Fortran-ordered npy are read whole and cropped. A 2D image has Z = 1.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The block is empty or leaves the volume.</exception>
    /// <exception cref="VolumeFormatException">The input cannot be read as a volume.</exception>
    public static IVolume ReadBlock(VolumePath path, (int Z, int Y, int X) offset, Shape3 size, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        switch (path.Kind)
        {
            case VolumeFileKind.Hdf5:
                return Hdf5Reader.ReadBlock(path.File, DatasetOf(path), offset, size, ct);
            case VolumeFileKind.Npy:
                var block = WrapNpy(path.File, () => NpyFormat.ReadBlock(path.File, offset, size, ct));
                ApplySidecar(path.File, block);
                return block;
            case VolumeFileKind.Sequence:
                return SectionSequence.ReadBlock(path.File, offset, size, ct);
            case VolumeFileKind.Tiff:
                return TiffFormat.ReadBlock(path.File, offset, size, ct);
            case VolumeFileKind.Mrc:
                return MrcFormat.ReadBlock(path.File, offset, size, ct);
            case VolumeFileKind.Zarr or VolumeFileKind.N5:
                var zarr = ChunkedArray.Open(path.File);
                BlockBounds.Check(zarr.Shape, offset, size);
                return zarr.Read(offset, size, ct);
            default:
                var whole = Read(path, ct);
                BlockBounds.Check(whole.Shape, offset, size);
                return VolumeRegions.Crop(whole, offset, size);
        }
    }

    /// <summary>
    /// The number of axes the input is stored with: 2 for an image, 3 for a stack (HDF5 and npy read only the header;
    /// a TIFF is 2 with one page, else 3).
    /// </summary>
    public static int ReadRank(VolumePath path)
    {
        ArgumentNullException.ThrowIfNull(path);
        switch (path.Kind)
        {
            case VolumeFileKind.Hdf5:
                return DescribeHdf5(path).Dims.Length;

            case VolumeFileKind.Npy:
                return WrapNpy(path.File, () =>
                {
                    using var stream = File.OpenRead(path.File);
                    return NpyFormat.ReadRank(stream, path.File);
                });
            case VolumeFileKind.Image:
                return RasterImageFormat.Describe(path.File).Rank;
            case VolumeFileKind.Sequence:
                return 3;
            case VolumeFileKind.Mrc:
                return MrcFormat.ReadShape(path.File).Z > 1 ? 3 : 2;
            case VolumeFileKind.Zarr or VolumeFileKind.N5:
                return ChunkedArray.Open(path.File).Axes.Spatial.Length;
            default:
                return TiffFormat.ReadShape(path.File).Z > 1 ? 3 : 2;
        }
    }

    /// <summary>
    /// The shape of the input's array as its file stores it, for <see cref="VolumeWriteOptions.StoredDimensions"/>: an
    /// npy's or HDF5 dataset's own shape (with any axes of length 1 that are not read); (H, W) or (Z, H, W) for the other
    /// formats, by <see cref="ReadRank"/>.
    /// </summary>
    public static long[] ReadStoredDimensions(VolumePath path)
    {
        ArgumentNullException.ThrowIfNull(path);
        switch (path.Kind)
        {
            case VolumeFileKind.Hdf5:
                return DescribeHdf5(path).Axes.Stored;

            case VolumeFileKind.Npy:
                return WrapNpy(path.File, () =>
                {
                    using var stream = File.OpenRead(path.File);
                    return NpyFormat.ReadStoredDimensions(stream, path.File);
                });
            case VolumeFileKind.Zarr or VolumeFileKind.N5:
                return ChunkedArray.Open(path.File).Axes.Stored;
            default:
                var shape = ReadShape(path);
                return ReadRank(path) == 2 ? [shape.Y, shape.X] : [shape.Z, shape.Y, shape.X];
        }
    }

    /// <summary>The shape of a volume without reading its voxels (HDF5 and npy read only the header).</summary>
    public static Shape3 ReadShape(VolumePath path)
    {
        ArgumentNullException.ThrowIfNull(path);
        switch (path.Kind)
        {
            case VolumeFileKind.Hdf5:
                return Shape3.FromDimensions(DescribeHdf5(path).Dims.Select(d => (long)d).ToArray());

            case VolumeFileKind.Npy:
                return WrapNpy(path.File, () =>
                {
                    using var stream = File.OpenRead(path.File);
                    return NpyFormat.ReadShape(stream, path.File);
                });
            case VolumeFileKind.Image:
                return RasterImageFormat.Describe(path.File).Shape;
            case VolumeFileKind.Sequence:
                return SectionSequence.ReadShape(path.File);
            case VolumeFileKind.Mrc:
                return MrcFormat.ReadShape(path.File);
            case VolumeFileKind.Zarr or VolumeFileKind.N5:
                return ChunkedArray.Open(path.File).Shape;
            default:
                return TiffFormat.ReadShape(path.File);
        }
    }

    /// <summary>
    /// True for a colour stack, which is read as the luminance of each section (<see cref="ColorImage"/>): a C-ordered
    /// npy of (Z, Y, X, 3 or 4), a colour TIFF of several pages, or a sequence of colour section files. (A single colour
    /// image is read as (H, W, 3); its callers take its luminance.)
    /// </summary>
    public static bool ReadColourStack(VolumePath path)
    {
        ArgumentNullException.ThrowIfNull(path);
        switch (path.Kind)
        {
            case VolumeFileKind.Npy:
                return WrapNpy(path.File, () =>
                {
                    using var stream = File.OpenRead(path.File);
                    return NpyFormat.ReadChannels(stream, path.File) > 1;
                });
            case VolumeFileKind.Tiff:
                return TiffFormat.IsColourStack(path.File);
            case VolumeFileKind.Sequence:
                return SectionSequence.IsColour(path.File);
            default:
                return false;
        }
    }

    /// <summary>
    /// The text attributes stored beside a volume (see <see cref="VolumeWriteOptions.Attributes"/>): string-valued
    /// HDF5 attributes of the dataset, the string members of a TIFF's JSON ImageDescription, or a npy's sidecar JSON.
    /// </summary>
    public static IReadOnlyDictionary<string, string> ReadAttributes(VolumePath path)
    {
        ArgumentNullException.ThrowIfNull(path);
        switch (path.Kind)
        {
            case VolumeFileKind.Hdf5:
                return Hdf5Reader.ReadAttributes(path.File, DatasetOf(path));
            case VolumeFileKind.Tiff:
                return TiffFormat.ReadAttributes(path.File);
            case VolumeFileKind.Image:
                _ = RasterImageFormat.Describe(path.File); // a clear error for a missing or unreadable file
                return new Dictionary<string, string>();
            case VolumeFileKind.Sequence:
                _ = SectionSequence.Files(path.File);
                return new Dictionary<string, string>();
            case VolumeFileKind.Zarr or VolumeFileKind.N5:
                return ChunkedArray.Open(path.File).ReadAttributes();
            default: // npy and MRC: the sidecar
                if (!File.Exists(path.File))
                {
                    throw new VolumeFormatException($"{path.File}: file not found.");
                }

                string sidecar = VolumeIO.NpySidecar(path.File);
                return File.Exists(sidecar) ? VolumeMetadata.FromJson(File.ReadAllText(sidecar)).Attributes : new Dictionary<string, string>();
        }
    }

    /// <summary>The section files of a sequence (a folder or a pattern), in the order they are stacked.</summary>
    /// <exception cref="VolumeFormatException">No such folder, or no section file.</exception>
    public static IReadOnlyList<string> SequenceFiles(VolumePath path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return SectionSequence.Files(path.File);
    }

    /// <summary>The absolute paths of every dataset in an HDF5 file, depth first (for error messages and pickers).</summary>
    /// <exception cref="VolumeFormatException">The file is missing or not a readable HDF5 file.</exception>
    public static IReadOnlyList<string> ListDatasets(string hdf5File)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(hdf5File);
        return Hdf5Reader.ListDatasets(hdf5File);
    }

    // An HDF5 dataset's header: its spatial dimensions, element kind and stored axes.
    private static (ulong[] Dims, ElementKind Kind, StoredAxes Axes) DescribeHdf5(VolumePath path)
    {
        using var h5 = Hdf5Reader.Open(path.File);
        var ds = Hdf5Reader.OpenDataset(h5, path.File, DatasetOf(path));
        return Hdf5Reader.Describe(ds, path.ToString());
    }

    private static string DatasetOf(VolumePath path) =>
        path.Dataset is null
            ? throw new ArgumentException($"{path.File}: an HDF5 path needs a dataset (file.h5:/dataset).", nameof(path))
            : VolumePath.NormalizeDataset(path.Dataset);

    private static IVolume ReadChunked(string folder, CancellationToken ct)
    {
        var zarr = ChunkedArray.Open(folder);
        if (zarr.Shape.Length > Array.MaxLength)
        {
            throw new VolumeFormatException($"{folder}: shape {zarr.Shape} ({zarr.Shape.Length} voxels) is too large to load at once; process it block-wise.");
        }

        return zarr.Read((0, 0, 0), zarr.Shape, ct);
    }

    private static IVolume ReadNpy(string file, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var volume = WrapNpy(file, () => NpyFormat.Read(file));
        ApplySidecar(file, volume);
        return volume;
    }

    private static void ApplySidecar(string file, IVolume volume)
    {
        string sidecar = VolumeIO.NpySidecar(file);
        if (File.Exists(sidecar) && VolumeMetadata.FromJson(File.ReadAllText(sidecar)).VoxelSize is { } size)
        {
            volume.SetVoxelSize(size);
        }
    }

    private static T WrapNpy<T>(string file, Func<T> read)
    {
        if (!File.Exists(file))
        {
            throw new VolumeFormatException(Directory.Exists(file) ? $"{file}: is a directory, not a .npy file." : $"{file}: file not found.");
        }

        try
        {
            return read();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or OverflowException or ArgumentException and not ArgumentOutOfRangeException { ParamName: "offset" or "size" })
        {
            throw new VolumeFormatException($"{file}: cannot read .npy ({AtomicFile.OneLine(ex.Message)}).", ex);
        }
    }
}

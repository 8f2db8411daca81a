using EmMask.Core.Volumes;
using EmMask.IO.Formats;

namespace EmMask.IO;

/// <summary>
/// Writes volumes atomically: the data goes to a hidden temp file in the output's directory, is flushed, and then
/// replaces the output in one rename. A failure or cancellation deletes the temp and leaves any existing output
/// byte-identical. A volume with Z = 1 is written as a 2D image. The voxel size is stored as <c>element_size_um</c>
/// (µm; omitted when it is the unit default). Volume&lt;int&gt; label volumes are written as int32; reading them back
/// yields float32 (exact up to ±2^24; see <see cref="VolumeReader"/>).
/// </summary>
public static class VolumeWriter
{
    /// <summary>
    /// Writes one volume. For TIFF and npy the file is the output; for HDF5 the dataset is: adding a dataset to an
    /// existing file keeps the file's other datasets and attributes (the file is rewritten, as PureHDF cannot edit
    /// in place), and replacing an existing dataset needs <see cref="VolumeWriteOptions.Force"/>.
    /// </summary>
    /// <exception cref="OutputExistsException">The output exists and Force is off; nothing was changed.</exception>
    /// <exception cref="VolumeFormatException">The output cannot be written.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled; nothing was changed.</exception>
    public static void Write(VolumePath path, IVolume volume, VolumeWriteOptions options, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(volume);
        ArgumentNullException.ThrowIfNull(options);
        switch (path.Kind)
        {
            case VolumeFileKind.Hdf5:
                string dataset = path.Dataset is null
                    ? throw new ArgumentException($"{path.File}: an HDF5 path needs a dataset (file.h5:/dataset).", nameof(path))
                    : VolumePath.NormalizeDataset(path.Dataset);
                Hdf5Writer.Write(path.File, [new Hdf5Item(dataset, volume, options.Attributes)], options, ct);
                return;
            case VolumeFileKind.Tiff:
                CheckVolume(path, volume);
                CheckReplace(path.File, options);
                AtomicFile.Write(path.File, stream => TiffFormat.Write(stream, volume, options.Attributes, ct), ct);
                return;
            case VolumeFileKind.Sequence:
                CheckVolume(path, volume);
                CheckCanHold(path, volume.Shape, volume.VoxelType);
                WriteSections(path.File, volume, options, ct);
                return;
            case VolumeFileKind.Image:
                CheckVolume(path, volume);
                CheckReplace(path.File, options);
                CheckCanHold(path, volume.Shape, volume.VoxelType);
                AtomicFile.Write(path.File, stream => RasterImageFormat.WritePng(path.File, stream, volume), ct);
                return;
            case VolumeFileKind.N5:
                throw new VolumeFormatException(N5Output(path));
            case VolumeFileKind.Zarr:
                CheckVolume(path, volume);
                CheckReplace(path, options);
                string temp = volume switch
                {
                    Volume<byte> v => ZarrWriter.WriteTemp(path.File, new VolumeRowSource<byte>(v), options, ct),
                    Volume<ushort> v => ZarrWriter.WriteTemp(path.File, new VolumeRowSource<ushort>(v), options, ct),
                    Volume<float> v => ZarrWriter.WriteTemp(path.File, new VolumeRowSource<float>(v), options, ct),
                    _ => ZarrWriter.WriteTemp(path.File, new VolumeRowSource<int>((Volume<int>)volume), options, ct),
                };
                ZarrWriter.Commit(temp, path.File);
                return;
            case VolumeFileKind.Mrc:
                CheckVolume(path, volume);
                CheckReplace(path.File, options);
                var mrc = SidecarWrites(path.File, volume.Shape, volume.VoxelSize, options, stream => MrcFormat.Write(stream, volume, ct));
                AtomicFile.WriteAll(mrc.Writes, ct);
                mrc.DeleteStale();
                return;
            default:
                CheckVolume(path, volume);
                CheckReplace(path.File, options);
                WriteNpy(path.File, volume, options, ct);
                return;
        }
    }

    /// <summary>
    /// Whether a volume of <paramref name="shape"/> and <paramref name="type"/> can be written to <paramref name="path"/>,
    /// checked before any work: an image file holds one uint8 section and only as PNG; one file per section needs a
    /// pattern with one <c>*</c> and PNG (uint8) or TIFF files; N5 is not written. Other formats hold any volume.
    /// </summary>
    /// <exception cref="VolumeFormatException">The output cannot hold such a volume; the message says what can.</exception>
    public static void CheckCanHold(VolumePath path, Shape3 shape, VoxelType type)
    {
        ArgumentNullException.ThrowIfNull(path);
        switch (path.Kind)
        {
            case VolumeFileKind.Sequence:
                var files = SectionSequence.OutputFiles(path.File, shape.Z);
                if (VolumePath.KindOf(files[0]) == VolumeFileKind.Image)
                {
                    RasterImageFormat.CheckWritable(files[0], new Shape3(1, shape.Y, shape.X), type);
                }

                return;
            case VolumeFileKind.Image:
                RasterImageFormat.CheckWritable(path.File, shape, type);
                return;
            case VolumeFileKind.N5:
                throw new VolumeFormatException(N5Output(path));
        }
    }

    // N5 is read, not written.
    private static string N5Output(VolumePath path) =>
        $"{path}: N5 is read, not written; write the mask as a Zarr array (out.zarr), which the same tools open, or as .h5, .tif, .npy or .mrc.";

    /// <summary>
    /// The files that match a one-file-per-section output's pattern but are not among the <paramref name="sections"/>
    /// files a write produces (an earlier, longer run's, or another numbering's), which the write leaves as they are: a
    /// later read of the pattern stacks them with the new ones. Empty for other outputs and when the folder is missing.
    /// </summary>
    public static IReadOnlyList<string> LeftoverSectionFiles(VolumePath path, int sections)
    {
        var existing = ExistingSectionFiles(path);
        if (existing.Count == 0)
        {
            return existing;
        }

        var written = SectionSequence.OutputFiles(path.File, sections).Select(Path.GetFullPath).ToHashSet(StringComparer.Ordinal);
        return existing.Where(f => !written.Contains(Path.GetFullPath(f))).ToList();
    }

    /// <summary>
    /// The files that exist under a one-file-per-section output's pattern, in ordinal order; empty for other outputs and
    /// when the folder is missing.
    /// </summary>
    public static IReadOnlyList<string> ExistingSectionFiles(VolumePath path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string folder = Path.GetDirectoryName(path.File) is { Length: > 0 } d ? d : ".";
        return path.Kind == VolumeFileKind.Sequence && Directory.Exists(folder)
            ? Directory.EnumerateFiles(folder, Path.GetFileName(path.File)).Order(StringComparer.Ordinal).ToList()
            : [];
    }

    /// <summary>
    /// Writes a uint8 volume handed out row by row (a block-wise result that is never held whole) into an HDF5 dataset,
    /// a multi-page TIFF or a <c>.npy</c>, atomically, storing what <see cref="Write"/> stores; with
    /// <paramref name="confidence"/>, its float32 confidence map too, all or none: in the same rewrite where it is another
    /// dataset of the same HDF5 file, else as a second file renamed into place only once both are complete
    /// (<see cref="RowsWriter"/>).
    /// </summary>
    /// <exception cref="ArgumentException">The output or the confidence map is not one HDF5, TIFF, npy or MRC file
    /// (<see cref="CanWriteRows"/>), levels beside a mask that is not HDF5, or both in one TIFF, npy or MRC file.</exception>
    /// <exception cref="OutputExistsException">An output exists and Force is off; nothing was changed.</exception>
    /// <exception cref="VolumeFormatException">An output cannot be written; nothing was changed.</exception>
    /// <param name="path">Where the mask goes.</param>
    /// <param name="rows">The mask.</param>
    /// <param name="options">Force, attributes and the rank of one section (the confidence map's too).</param>
    /// <param name="ct">Cancels the write (nothing is changed).</param>
    /// <param name="levels">More datasets in the same HDF5 file, each named the dataset plus its suffix (a multiscale pyramid).</param>
    /// <param name="confidence">The confidence map and where it goes, or null.</param>
    public static void WriteRows(VolumePath path, IRowSource<byte> rows, VolumeWriteOptions options, CancellationToken ct = default,
        IReadOnlyList<(string Suffix, IRowSource<byte> Rows, IReadOnlyDictionary<string, string> Attributes)>? levels = null,
        (VolumePath Path, IRowSource<float> Rows)? confidence = null) =>
        RowsWriter.Write(path, rows, options, ct, levels, confidence);

    /// <summary>
    /// How far back (sections) a row-by-row write to <paramref name="path"/> asks for rows again (<see cref="WriteRows"/>):
    /// a compressed HDF5 dataset and a Zarr array are written in bands one chunk deep (<see cref="Hdf5Writer.ChunkDepth"/>);
    /// TIFF, npy, MRC and uncompressed HDF5 go through the rows in order.
    /// </summary>
    public static int RowReach(VolumePath path, VolumeWriteOptions options)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(options);
        return path.Kind == VolumeFileKind.Zarr ? ZarrWriter.ChunkDepth : path.Kind == VolumeFileKind.Hdf5 && options.Compress ? Hdf5Writer.ChunkDepth : 0;
    }

    /// <summary>
    /// Whether a volume handed out row by row (<see cref="WriteRows"/>) can be written to a file of
    /// <paramref name="kind"/>: one HDF5, TIFF, npy or MRC file. Single-section images and one file per section cannot.
    /// </summary>
    public static bool CanWriteRows(VolumeFileKind kind) => kind is VolumeFileKind.Hdf5 or VolumeFileKind.Tiff or VolumeFileKind.Npy or VolumeFileKind.Mrc or VolumeFileKind.Zarr;

    /// <summary>
    /// Writes a tiny volume of <paramref name="like"/>'s element type as HDF5 into memory and discards it: the writing
    /// code is then compiled before the real write. For command-line runs (one write per process), done beside work
    /// that leaves a core free. Nothing touches the file system.
    /// </summary>
    public static void WarmUpHdf5(IVolume like, IReadOnlyDictionary<string, string> attributes)
    {
        ArgumentNullException.ThrowIfNull(like);
        ArgumentNullException.ThrowIfNull(attributes);
        var shape = new Shape3(2, 2, 2);
        IVolume tiny = like switch
        {
            Volume<ushort> => new Volume<ushort>(shape),
            Volume<float> => new Volume<float>(shape),
            Volume<int> => new Volume<int>(shape),
            _ => new Volume<byte>(shape),
        };
        using var memory = new MemoryStream();
        Hdf5Writer.WriteTo(memory, [new Hdf5Item("/warm-up", tiny, attributes)], new VolumeWriteOptions { Attributes = attributes });
    }

    /// <summary>
    /// Writes several datasets into one HDF5 file in a single atomic rewrite (e.g. a phantom's <c>/raw</c> and
    /// <c>/gt</c>). Per-item attributes replace <see cref="VolumeWriteOptions.Attributes"/> when given.
    /// </summary>
    /// <exception cref="OutputExistsException">A dataset exists and Force is off; nothing was changed.</exception>
    /// <exception cref="VolumeFormatException">The file cannot be written.</exception>
    public static void WriteMany(
        string hdf5File,
        IReadOnlyList<(string Dataset, IVolume Volume, IReadOnlyDictionary<string, string>? Attributes)> items,
        VolumeWriteOptions options,
        CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(hdf5File);
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(options);
        if (VolumePath.KindOf(hdf5File) != VolumeFileKind.Hdf5)
        {
            throw new ArgumentException($"{hdf5File}: WriteMany needs an HDF5 file (.h5, .hdf5).", nameof(hdf5File));
        }

        var list = items
            .Select(i => new Hdf5Item(VolumePath.NormalizeDataset(i.Dataset), i.Volume ?? throw new ArgumentNullException(nameof(items)), i.Attributes ?? options.Attributes))
            .ToList();
        Hdf5Writer.Write(hdf5File, list, options, ct);
    }

    // One file per section, all or none (AtomicFile.WriteAll); without Force no file of the pattern may exist yet.
    private static void WriteSections(string pattern, IVolume volume, VolumeWriteOptions options, CancellationToken ct)
    {
        var files = SectionSequence.OutputFiles(pattern, volume.Shape.Z);
        if (!options.Force && files.FirstOrDefault(File.Exists) is { } existing)
        {
            throw new OutputExistsException(existing);
        }

        var section = new Shape3(1, volume.Shape.Y, volume.Shape.X);
        var writes = files.Select((file, z) => (file, (Action<FileStream>)(stream =>
        {
            var one = VolumeRegions.Crop(volume, (z, 0, 0), section);
            if (VolumePath.KindOf(file) == VolumeFileKind.Image)
            {
                RasterImageFormat.WritePng(file, stream, one);
            }
            else
            {
                TiffFormat.Write(stream, one, options.Attributes, ct);
            }
        }))).ToList();
        AtomicFile.WriteAll(writes, ct);
    }

    private static void CheckVolume(VolumePath path, IVolume volume)
    {
        if (volume.Shape.IsEmpty)
        {
            throw new ArgumentException($"{path}: cannot write a volume with a 0-length axis {volume.Shape}.", nameof(volume));
        }

        if (volume is not (Volume<byte> or Volume<ushort> or Volume<float> or Volume<int>))
        {
            throw new ArgumentException($"Cannot write {volume.GetType().Name}; expected Volume<byte>, Volume<ushort>, Volume<float> or Volume<int>.", nameof(volume));
        }
    }

    // A Zarr array (a folder) is replaced only with Force, and only a Zarr array is.
    internal static void CheckReplace(VolumePath path, VolumeWriteOptions options)
    {
        if (File.Exists(path.File))
        {
            throw new VolumeFormatException($"{path.File}: is a file, not a Zarr array.");
        }

        if (Directory.Exists(path.File) && !ChunkedArray.IsArray(path.File))
        {
            throw new VolumeFormatException($"{path.File}: is a folder but not a Zarr array; it is not replaced.");
        }

        if (Directory.Exists(path.File) && !options.Force)
        {
            throw new OutputExistsException(path.File);
        }
    }

    // A TIFF, npy or MRC file is replaced only with Force.
    internal static void CheckReplace(string file, VolumeWriteOptions options)
    {
        if (Directory.Exists(file))
        {
            throw new VolumeFormatException($"{file}: is a directory.");
        }

        if (File.Exists(file) && !options.Force)
        {
            throw new OutputExistsException(file);
        }
    }

    private static void WriteNpy(string file, IVolume volume, VolumeWriteOptions options, CancellationToken ct)
    {
        var npy = SidecarWrites(file, volume.Shape, volume.VoxelSize, options, stream => NpyFormat.Write(stream, volume, options.DimensionsFor(volume.Shape), ct));
        AtomicFile.WriteAll(npy.Writes, ct);
        npy.DeleteStale();
    }

    /// <summary>
    /// A <c>.npy</c> or MRC file's writes for <see cref="AtomicFile.WriteAll"/>: the array (<paramref name="data"/>), and its JSON
    /// sidecar (<see cref="VolumeIO.NpySidecar"/>: the attributes and the voxel size, (y, x) only for a 2D array: Z = 1
    /// and <see cref="VolumeWriteOptions.SingleSliceRank"/> 2), all or none. With nothing to store, no sidecar is written and an old one is
    /// deleted once the array is in place (<see cref="SidecarFileWrites.DeleteStale"/>): the sidecar follows the data, as a
    /// stale one would attach old attributes or voxel size to the new array.
    /// </summary>
    internal static SidecarFileWrites SidecarWrites(string file, Shape3 shape, VoxelSize voxelSize, VolumeWriteOptions options, Action<FileStream> data)
    {
        string sidecar = VolumeIO.NpySidecar(file);
        string json = VolumeMetadata.ToJson(options.Attributes, voxelSize, shape.Z == 1 && options.SingleSliceRank != 3);
        return json == "{}"
            ? new SidecarFileWrites([(file, data)], sidecar)
            : new SidecarFileWrites([(file, data), (sidecar, stream => stream.Write(System.Text.Encoding.UTF8.GetBytes(json)))], null);
    }

    /// <summary>The writes of one <c>.npy</c> or MRC file (<see cref="SidecarWrites"/>), and the sidecar to delete after them, if any.</summary>
    internal sealed record SidecarFileWrites(IReadOnlyList<(string Target, Action<FileStream> Write)> Writes, string? Stale)
    {
        /// <summary>Deletes the stale sidecar (after the writes are in place).</summary>
        public void DeleteStale()
        {
            if (Stale is not null && File.Exists(Stale))
            {
                File.Delete(Stale);
            }
        }
    }
}

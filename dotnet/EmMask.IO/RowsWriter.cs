using EmMask.Core.Volumes;
using EmMask.IO.Formats;

namespace EmMask.IO;

/// <summary>
/// Writes volumes handed out row by row (a block-wise mask, its coarser levels and its confidence map, never held
/// whole) into HDF5 datasets, multi-page TIFF or <c>.npy</c> files, storing what <see cref="VolumeWriter.Write"/>
/// stores for each format (HDF5 attributes, the TIFF's JSON ImageDescription, the npy's JSON sidecar). Every file is
/// streamed into a temp file first and all are renamed into place only once all are complete
/// (<see cref="AtomicFile.WriteAll"/>), so a failure or cancellation leaves every existing output as it was. Two
/// datasets of one HDF5 file go into one rewrite of it; a TIFF, npy or MRC file holds one volume.
/// </summary>
internal static class RowsWriter
{
    /// <summary>The mask (with its <paramref name="levels"/>, HDF5 only) and its confidence map, all or none (<see cref="VolumeWriter.WriteRows"/>).</summary>
    public static void Write(VolumePath path, IRowSource<byte> rows, VolumeWriteOptions options, CancellationToken ct,
        IReadOnlyList<(string Suffix, IRowSource<byte> Rows, IReadOnlyDictionary<string, string> Attributes)>? levels,
        (VolumePath Path, IRowSource<float> Rows)? confidence)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(options);
        Check(path, "the mask");
        MultiscaleLevels.CheckOutput(path, levels?.Count ?? 0);
        if (confidence is var (confidencePath, _))
        {
            Check(confidencePath, "the confidence map");
            bool sameFile = string.Equals(Path.GetFullPath(confidencePath.File), Path.GetFullPath(path.File), StringComparison.Ordinal);
            if (sameFile && path.Kind != VolumeFileKind.Hdf5)
            {
                throw new ArgumentException($"{confidencePath} is the mask's file: a {path.Kind} file holds one volume; give the confidence map its own file.", nameof(confidence));
            }
        }

        var outputs = new Outputs(options, ct);
        outputs.Add(path, rows, levels ?? []);
        if (confidence is var (target, confidenceRows))
        {
            outputs.Add(target, confidenceRows, []);
        }

        outputs.Write();
    }

    // The files of one write: HDF5 datasets grouped by file, and the TIFF and npy files' writes.
    private sealed class Outputs(VolumeWriteOptions options, CancellationToken ct)
    {
        private readonly List<(string File, List<Hdf5Item> Items)> hdf5 = [];
        private readonly List<(string Target, Action<FileStream> Write)> files = [];
        private readonly List<VolumeWriter.SidecarFileWrites> npys = [];
        private readonly List<(string Target, Func<string> WriteTemp)> zarrs = [];

        public void Add<T>(VolumePath path, IRowSource<T> rows, IReadOnlyList<(string Suffix, IRowSource<byte> Rows, IReadOnlyDictionary<string, string> Attributes)> levels)
            where T : unmanaged
        {
            if (rows.Shape.IsEmpty)
            {
                throw new ArgumentException($"{path}: cannot write a volume with a 0-length axis {rows.Shape}.", nameof(rows));
            }

            switch (path.Kind)
            {
                case VolumeFileKind.Hdf5:
                    string dataset = path.Dataset is null
                        ? throw new ArgumentException($"{path.File}: an HDF5 path needs a dataset (file.h5:/dataset).", nameof(path))
                        : VolumePath.NormalizeDataset(path.Dataset);
                    var items = ItemsOf(path.File);
                    items.Add(new Hdf5Item(dataset, new RowVolume<T>(rows), options.Attributes));
                    items.AddRange(levels.Select(l => new Hdf5Item(dataset + l.Suffix, new RowVolume<byte>(l.Rows), l.Attributes)));
                    return;
                case VolumeFileKind.Tiff:
                    VolumeWriter.CheckReplace(path.File, options);
                    files.Add((path.File, stream => TiffFormat.WriteRows(stream, rows, options.Attributes, ct)));
                    return;
                case VolumeFileKind.Zarr:
                    VolumeWriter.CheckReplace(path, options);
                    zarrs.Add((path.File, () => ZarrWriter.WriteTemp(path.File, rows, options, ct)));
                    return;
                case VolumeFileKind.Mrc:
                    VolumeWriter.CheckReplace(path.File, options);
                    var mrc = VolumeWriter.SidecarWrites(path.File, rows.Shape, rows.VoxelSize, options, stream => WriteMrc(stream, rows, ct));
                    npys.Add(mrc);
                    files.AddRange(mrc.Writes);
                    return;
                default:
                    VolumeWriter.CheckReplace(path.File, options);
                    var npy = VolumeWriter.SidecarWrites(path.File, rows.Shape, rows.VoxelSize, options, stream => NpyFormat.WriteRows(stream, rows, options.DimensionsFor(rows.Shape), ct));
                    npys.Add(npy);
                    files.AddRange(npy.Writes);
                    return;
            }
        }

        // HDF5 files are opened and checked (an existing dataset needs Force) before any temp file is written.
        // Zarr arrays are written into hidden folders first and moved into place after the files.
        public void Write()
        {
            using var prepared = Hdf5Writer.Prepare(hdf5.Select(h => (h.File, (IReadOnlyList<Hdf5Item>)h.Items)).ToList(), options, ct);
            var temps = new List<(string Temp, string Target)>();
            try
            {
                foreach (var (target, writeTemp) in zarrs)
                {
                    temps.Add((writeTemp(), target));
                }

                AtomicFile.WriteAll([.. prepared.Writes, .. files], ct, beforeCommit: prepared.Dispose);
            }
            catch
            {
                temps.ForEach(t => ZarrWriter.Discard(t.Temp));
                throw;
            }

            temps.ForEach(t => ZarrWriter.Commit(t.Temp, t.Target));
            npys.ForEach(n => n.DeleteStale());
        }

        private List<Hdf5Item> ItemsOf(string file)
        {
            foreach (var (existing, items) in hdf5)
            {
                if (string.Equals(Path.GetFullPath(existing), Path.GetFullPath(file), StringComparison.Ordinal))
                {
                    return items;
                }
            }

            var added = new List<Hdf5Item>();
            hdf5.Add((file, added));
            return added;
        }
    }

    // MRC holds uint8, uint16 and float32 (MrcFormat.WriteRows).
    private static void WriteMrc<T>(Stream stream, IRowSource<T> rows, CancellationToken ct)
        where T : unmanaged
    {
        switch (rows)
        {
            case IRowSource<byte> b: MrcFormat.WriteRows(stream, b, ct); break;
            case IRowSource<ushort> u: MrcFormat.WriteRows(stream, u, ct); break;
            case IRowSource<float> f: MrcFormat.WriteRows(stream, f, ct); break;
            default: throw new VolumeFormatException($"MRC holds uint8, uint16 or float32, not {typeof(T).Name}; write labels as .h5, .tif or .npy.");
        }
    }

    // The kinds a row-by-row write can go to (VolumeWriter.CanWriteRows).
    private static void Check(VolumePath path, string what)
    {
        if (!VolumeWriter.CanWriteRows(path.Kind))
        {
            throw new ArgumentException(
                $"{path}: {what} is streamed row by row into one HDF5, TIFF, npy or MRC file or a Zarr array (out.h5:/dataset, out.tif, out.npy, out.mrc, out.zarr), not into single-section images or one file per section.",
                nameof(path));
        }
    }
}

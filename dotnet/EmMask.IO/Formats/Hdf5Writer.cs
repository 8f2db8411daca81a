using System.Diagnostics;
using EmMask.Core.Volumes;
using PureHDF;
using PureHDF.Filters;
using PureHDF.Selections;
using PureHDF.VOL.Native;

namespace EmMask.IO.Formats;

/// <summary>One dataset to write: its absolute path, the volume and its text attributes.</summary>
internal sealed record Hdf5Item(string Dataset, IVolume Volume, IReadOnlyDictionary<string, string> Attributes);

/// <summary>
/// A volume streamed row by row from an <see cref="IRowSource{T}"/> (a block-wise mask, uint8, or its confidence,
/// float32) instead of held.
/// </summary>
internal sealed class RowVolume<T>(IRowSource<T> source) : IVolume
    where T : unmanaged
{
    public IRowSource<T> Source => source;

    public Shape3 Shape => source.Shape;

    public VoxelSize VoxelSize => source.VoxelSize;

    public VoxelType VoxelType => typeof(T) == typeof(float) ? VoxelType.Float32 : VoxelType.UInt8;
}

/// <summary>
/// Writes datasets into an HDF5 file, chunked and deflate-compressed, atomically. PureHDF cannot edit a file in
/// place, so adding a dataset to an existing file rewrites the whole file: the existing groups, datasets and their
/// attributes are streamed into the new temp file slab by slab (never all in memory), then the new datasets are added.
/// </summary>
internal static class Hdf5Writer
{
    /// <summary>
    /// Chunk shape (z, y, x), clamped to the volume: 1 MiB for uint8. PureHDF moves data one chunk row at a time, so
    /// long x rows make whole-volume reads and writes 5–6x faster than 64³ cubes (measured: 32×512×2048 uint8 with
    /// deflate, write 0.39 s vs 2.2 s, read 0.22 s vs 1.9 s) while blocks of a few hundred voxels still decode little
    /// beyond what they need.
    /// </summary>
    private static readonly Shape3 Chunk3D = new(ChunkDepth, 64, 1024);

    /// <summary>Sections in a chunk, and so in a band of a compressed write, which reads those sections' rows over again for each band of rows.</summary>
    public const int ChunkDepth = 16;

    /// <summary>Chunk shape (y, x) for 2D images.</summary>
    private static readonly (int Y, int X) Chunk2D = (256, 1024);

    /// <summary>
    /// zlib level. PureHDF's deflate accepts only -1 (zlib default, 6), 0, 1 and 9; level 1 is several times faster
    /// than 6 and EM data compresses only slightly worse (see the report's figures).
    /// </summary>
    private const int DeflateLevel = 1;

    /// <summary>Elements copied per slab when rewriting an existing dataset.</summary>
    private const long CopySlabElements = 16L << 20;

    public static void Write(string file, IReadOnlyList<Hdf5Item> items, VolumeWriteOptions options, CancellationToken ct) =>
        WriteAll([(file, items)], options, ct);

    /// <summary>
    /// Writes datasets into several HDF5 files all or none (<see cref="AtomicFile.WriteAll"/>): every file's temp is
    /// written first, and only then are they renamed into place (a block-wise mask and its confidence map).
    /// </summary>
    public static void WriteAll(IReadOnlyList<(string File, IReadOnlyList<Hdf5Item> Items)> files, VolumeWriteOptions options, CancellationToken ct)
    {
        using var prepared = Prepare(files, options, ct);
        AtomicFile.WriteAll(prepared.Writes, ct, beforeCommit: prepared.Dispose);
    }

    /// <summary>
    /// The writes of <see cref="WriteAll"/>, checked and ready for <see cref="AtomicFile.WriteAll"/> beside other files
    /// (a block-wise mask in TIFF or npy and its confidence map in HDF5): each existing file is opened, so that its
    /// other datasets are copied, and checked (a dataset that exists needs Force). Dispose it before the rename (Windows
    /// cannot replace an open file) and after.
    /// </summary>
    /// <exception cref="OutputExistsException">A dataset exists and Force is off; nothing was changed.</exception>
    /// <exception cref="VolumeFormatException">An existing file cannot be read (without Force) or cannot take a dataset.</exception>
    public static PreparedWrites Prepare(IReadOnlyList<(string File, IReadOnlyList<Hdf5Item> Items)> files, VolumeWriteOptions options, CancellationToken ct)
    {
        var sources = new List<NativeFile?>(files.Count);
        try
        {
            if (files.Select(f => Path.GetFullPath(f.File)).Distinct(StringComparer.Ordinal).Count() != files.Count)
            {
                throw new ArgumentException("Each file is written once, with all of its datasets.", nameof(files));
            }

            foreach (var (file, items) in files)
            {
                Validate(file, items);
                if (!File.Exists(file) && Directory.Exists(file))
                {
                    throw new VolumeFormatException($"{file}: is a directory.");
                }

                var source = File.Exists(file) ? OpenExisting(file, options.Force) : null;
                sources.Add(source);
                if (source is not null)
                {
                    CheckTargets(source, file, items, options.Force);
                }
            }

            var writes = files.Select((f, i) => (f.File, (Action<FileStream>)(stream => WriteFile(stream, f.File, sources[i], f.Items, options, ct)))).ToList();
            return new PreparedWrites(writes, sources);
        }
        catch
        {
            sources.ForEach(s => s?.Dispose());
            throw;
        }
    }

    /// <summary>The temp-file writes of <see cref="Prepare"/>, and the existing files they copy from (closed by Dispose).</summary>
    internal sealed class PreparedWrites(IReadOnlyList<(string Target, Action<FileStream> Write)> writes, IReadOnlyList<NativeFile?> sources) : IDisposable
    {
        /// <summary>One write per file, for <see cref="AtomicFile.WriteAll"/>.</summary>
        public IReadOnlyList<(string Target, Action<FileStream> Write)> Writes => writes;

        /// <summary>Closes the existing files (more than once is harmless).</summary>
        public void Dispose()
        {
            foreach (var source in sources)
            {
                source?.Dispose();
            }
        }
    }

    /// <summary>Writes a new HDF5 file's bytes into <paramref name="stream"/> (no existing file, no atomic rename).</summary>
    public static void WriteTo(Stream stream, IReadOnlyList<Hdf5Item> items, VolumeWriteOptions options)
    {
        Validate("(stream)", items);
        WriteFile(stream, "(stream)", null, items, options, CancellationToken.None);
    }

    private static void Validate(string file, IReadOnlyList<Hdf5Item> items)
    {
        if (items.Count == 0)
        {
            throw new ArgumentException("At least one dataset is needed.", nameof(items));
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in items)
        {
            if (!seen.Add(item.Dataset))
            {
                throw new ArgumentException($"Dataset '{item.Dataset}' is given twice.", nameof(items));
            }

            if (item.Volume.Shape.IsEmpty)
            {
                throw new ArgumentException($"{file}:{item.Dataset}: cannot write a volume with a 0-length axis {item.Volume.Shape}.", nameof(items));
            }

            if (item.Volume is not (Volume<byte> or Volume<ushort> or Volume<float> or Volume<int> or RowVolume<byte> or RowVolume<float>))
            {
                throw new ArgumentException($"Cannot write {item.Volume.GetType().Name}; expected Volume<byte>, Volume<ushort>, Volume<float> or Volume<int>.", nameof(items));
            }
        }

        foreach (var a in seen)
        {
            if (seen.Any(b => b.StartsWith(a + "/", StringComparison.Ordinal)))
            {
                throw new ArgumentException($"Dataset '{a}' cannot also be a group of another dataset.", nameof(items));
            }
        }
    }

    private static NativeFile? OpenExisting(string file, bool force)
    {
        try
        {
            return Hdf5Reader.Open(file);
        }
        catch (VolumeFormatException ex) when (!force)
        {
            throw new VolumeFormatException($"{file}: exists and is not a readable HDF5 file; use --force to replace it ({ex.Message}).", ex);
        }
        catch (VolumeFormatException)
        {
            // With Force an unreadable file is simply replaced.
            return null;
        }
    }

    private static void CheckTargets(NativeFile source, string file, IReadOnlyList<Hdf5Item> items, bool force)
    {
        foreach (var item in items)
        {
            var parts = item.Dataset.Split('/', StringSplitOptions.RemoveEmptyEntries);
            for (int i = 1; i <= parts.Length; i++)
            {
                string path = "/" + string.Join('/', parts[..i]);
                if (!Hdf5Reader.Guard(file, () => Hdf5Reader.Exists(source, path)))
                {
                    break;
                }

                var obj = Hdf5Reader.Guard(file, () => source.Get(path));
                if (i < parts.Length && obj is not IH5Group)
                {
                    throw new VolumeFormatException($"{file}: cannot write '{item.Dataset}' because '{path}' is a dataset, not a group.");
                }

                if (i == parts.Length)
                {
                    if (obj is IH5Group)
                    {
                        throw new VolumeFormatException($"{file}: cannot write dataset '{item.Dataset}', a group of that name exists.");
                    }

                    if (!force)
                    {
                        throw new OutputExistsException($"{file}:{item.Dataset}");
                    }
                }
            }
        }
    }

    private static void WriteFile(Stream stream, string file, NativeFile? source, IReadOnlyList<Hdf5Item> items, VolumeWriteOptions options, CancellationToken ct)
    {
        var root = new H5File();
        var writes = new List<Action<H5NativeWriter>>();
        if (source is not null)
        {
            var replaced = items.Select(i => i.Dataset).ToHashSet(StringComparer.Ordinal);
            Hdf5Reader.Guard(file, () =>
            {
                CopyGroup(source, root, "", replaced, writes, options, file, ct);
                return 0;
            });
        }

        foreach (var item in items)
        {
            int slash = item.Dataset.LastIndexOf('/');
            var parent = GroupAt(root, item.Dataset[..slash], file);
            parent[item.Dataset[(slash + 1)..]] = item.Volume switch
            {
                Volume<byte> v => DefineVolume(v, item.Attributes, options, writes, ct),
                Volume<ushort> v => DefineVolume(v, item.Attributes, options, writes, ct),
                Volume<float> v => DefineVolume(v, item.Attributes, options, writes, ct),
                Volume<int> v => DefineVolume(v, item.Attributes, options, writes, ct),
                RowVolume<byte> r => DefineRows<byte>(r.Shape, r.VoxelSize, r.Source.CopyRow, item.Attributes, options, writes, ct),
                RowVolume<float> r => DefineRows<float>(r.Shape, r.VoxelSize, r.Source.CopyRow, item.Attributes, options, writes, ct),
                _ => throw new UnreachableException(),
            };
        }

        // The writer must not close our stream: AtomicFile flushes it to disk before the rename. Compact layout is
        // off because PureHDF ignores deferred writes into compact datasets (small ones would read back as zeros).
        using (var writer = root.BeginWrite(new KeepOpenStream(stream), new H5WriteOptions(PreferCompactDatasetLayout: false)))
        {
            foreach (var write in writes)
            {
                ct.ThrowIfCancellationRequested();
                try
                {
                    write(writer);
                }
                catch (Exception ex) when (ex is not (VolumeFormatException or OperationCanceledException or IOException or OutOfMemoryException))
                {
                    throw new VolumeFormatException($"{file}: cannot write HDF5 data ({AtomicFile.OneLine(ex.Message)}).", ex);
                }
            }
        }
    }

    private static H5Dataset DefineVolume<T>(Volume<T> volume, IReadOnlyDictionary<string, string> attributes, VolumeWriteOptions options, List<Action<H5NativeWriter>> writes, CancellationToken ct)
        where T : unmanaged =>
        DefineRows<T>(volume.Shape, volume.VoxelSize, (z, y, row) => volume.Row(z, y).CopyTo(row), attributes, options, writes, ct);

    private delegate void RowCopy<T>(int z, int y, Span<T> destination);

    private static H5Dataset DefineRows<T>(Shape3 shape, VoxelSize voxelSize, RowCopy<T> copyRow, IReadOnlyDictionary<string, string> attributes, VolumeWriteOptions options, List<Action<H5NativeWriter>> writes, CancellationToken ct)
        where T : unmanaged
    {
        // The stored axes: (H, W), (Z, H, W), or the input's with axes of length 1 added (VolumeWriteOptions.DimensionsFor).
        var axes = StoredAxes.Of(options.DimensionsFor(shape))!;
        bool is2D = axes.Spatial.Length == 2;
        ulong[] dims = [.. axes.Stored.Select(d => (ulong)d)];
        var chunk = is2D
            ? new Shape3(1, Math.Min(shape.Y, Chunk2D.Y), Math.Min(shape.X, Chunk2D.X))
            : new Shape3(Math.Min(shape.Z, Chunk3D.Z), Math.Min(shape.Y, Chunk3D.Y), Math.Min(shape.X, Chunk3D.X));
        uint[]? chunks = !options.Compress ? null
            : [.. axes.Region((0, 0, 0), (chunk.Z, chunk.Y, chunk.X)).Counts.Select(c => (uint)c)];
        var dataset = new H5Dataset<Memory<T>>(fileDims: dims, chunks: chunks, datasetCreation: Creation(options));
        var attrs = new Dictionary<string, object>();
        foreach (var (key, value) in attributes)
        {
            attrs[key] = value;
        }

        if (VolumeMetadata.ToElementSizeUm(voxelSize, is2D) is { } um)
        {
            attrs[VolumeMetadata.ElementSizeUm] = um;
        }

        dataset.Attributes = attrs;

        // Bands one chunk deep and one chunk high over the full x extent: each band completes its chunks, so they
        // are compressed once and the writer's cache never holds more than one row of chunks.
        int bandDepth = options.Compress ? chunk.Z : (int)Math.Clamp(CopySlabElements / shape.SliceLength, 1, shape.Z);
        int bandHeight = options.Compress ? chunk.Y : shape.Y;
        writes.Add(writer =>
        {
            var buffer = new T[bandDepth * bandHeight * shape.X];
            for (int z0 = 0; z0 < shape.Z; z0 += bandDepth)
            {
                int nz = Math.Min(bandDepth, shape.Z - z0);
                for (int y0 = 0; y0 < shape.Y; y0 += bandHeight)
                {
                    ct.ThrowIfCancellationRequested();
                    int ny = Math.Min(bandHeight, shape.Y - y0);
                    for (int z = 0; z < nz; z++)
                    {
                        for (int y = 0; y < ny; y++)
                        {
                            copyRow(z0 + z, y0 + y, buffer.AsSpan(((z * ny) + y) * shape.X, shape.X));
                        }
                    }

                    var (starts, counts) = axes.Region((z0, y0, 0), (nz, ny, shape.X));
                    var selection = new HyperslabSelection(starts.Length, starts, counts);
                    writer.Write(dataset, buffer.AsMemory(0, nz * ny * shape.X), fileSelection: selection);
                }
            }
        });
        return dataset;
    }

    private static H5DatasetCreation Creation(VolumeWriteOptions options) => options.Compress
        ? new H5DatasetCreation(Filters: [new H5Filter(DeflateFilter.Id, new() { [DeflateFilter.COMPRESSION_LEVEL] = DeflateLevel })])
        : default;

    private static H5Group GroupAt(H5Group root, string path, string file)
    {
        var group = root;
        foreach (var part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!group.TryGetValue(part, out var child))
            {
                child = new H5Group();
                group[part] = child;
            }

            group = child as H5Group ?? throw new VolumeFormatException($"{file}: '{part}' in '{path}' is a dataset, not a group.");
        }

        return group;
    }

    private static void CopyGroup(IH5Group source, H5Group target, string prefix, HashSet<string> replaced, List<Action<H5NativeWriter>> writes, VolumeWriteOptions options, string file, CancellationToken ct)
    {
        target.Attributes = CopyAttributes(source, $"{file}:{(prefix.Length == 0 ? "/" : prefix)}");
        foreach (var child in source.Children())
        {
            string path = $"{prefix}/{child.Name}";
            switch (child)
            {
                case NativeDataset ds when !replaced.Contains(path):
                    target[child.Name] = CopyDataset(ds, $"{file}:{path}", options, writes, ct);
                    break;
                case IH5Group g:
                    var group = new H5Group();
                    target[child.Name] = group;
                    CopyGroup(g, group, path, replaced, writes, options, file, ct);
                    break;
                case IH5Dataset:
                    break;
                default:
                    throw new VolumeFormatException($"{file}: '{path}' is neither a group nor a dataset and cannot be copied; write to a new file instead.");
            }
        }
    }

    private static Dictionary<string, object> CopyAttributes(IH5Object source, string where)
    {
        var result = new Dictionary<string, object>();
        foreach (var attribute in source.Attributes())
        {
            result[attribute.Name] = Hdf5Values.CopyValue(attribute, where);
        }

        return result;
    }

    private static object CopyDataset(NativeDataset source, string where, VolumeWriteOptions options, List<Action<H5NativeWriter>> writes, CancellationToken ct)
    {
        var type = source.Type;
        var dataset = type.Class switch
        {
            H5DataTypeClass.FixedPoint => ElementKinds.FromInteger(type.Size, type.FixedPoint.IsSigned, where) switch
            {
                ElementKind.UInt8 => CopyNumeric<byte>(source, options, writes, ct),
                ElementKind.UInt16 => CopyNumeric<ushort>(source, options, writes, ct),
                ElementKind.UInt32 => CopyNumeric<uint>(source, options, writes, ct),
                ElementKind.UInt64 => CopyNumeric<ulong>(source, options, writes, ct),
                ElementKind.Int8 => CopyNumeric<sbyte>(source, options, writes, ct),
                ElementKind.Int16 => CopyNumeric<short>(source, options, writes, ct),
                ElementKind.Int32 => CopyNumeric<int>(source, options, writes, ct),
                _ => CopyNumeric<long>(source, options, writes, ct),
            },
            H5DataTypeClass.FloatingPoint when type.Size == 4 => CopyNumeric<float>(source, options, writes, ct),
            H5DataTypeClass.FloatingPoint when type.Size == 8 => CopyNumeric<double>(source, options, writes, ct),
            _ => throw new VolumeFormatException(
                $"{where}: existing dataset has dtype {ElementKinds.DescribeHdf5(type)}, which EM Mask cannot copy when rewriting the file; write to a new file instead."),
        };
        dataset.Attributes = CopyAttributes(source, where);
        return dataset;
    }

    private static H5Dataset CopyNumeric<T>(NativeDataset source, VolumeWriteOptions options, List<Action<H5NativeWriter>> writes, CancellationToken ct)
        where T : unmanaged
    {
        if (source.Space.Type != H5DataspaceType.Simple || source.Space.Rank == 0)
        {
            return new H5Dataset(source.Read<T[]>()[0]);
        }

        ulong[] dims = source.Space.Dimensions;
        if (dims.Any(d => d == 0))
        {
            return new H5Dataset<Memory<T>>(fileDims: dims);
        }

        ulong rowElements = dims.Skip(1).Aggregate(1UL, (a, b) => a * b);
        ulong total = rowElements * dims[0];
        bool chunked = options.Compress && total > 1024;
        ulong[] edge = dims.Length switch
        {
            1 => [65536],
            2 => [(ulong)Chunk2D.Y, (ulong)Chunk2D.X],
            _ => [.. Enumerable.Repeat(1UL, dims.Length - 3), (ulong)Chunk3D.Z, (ulong)Chunk3D.Y, (ulong)Chunk3D.X],
        };
        uint[]? chunks = chunked ? dims.Select((d, i) => (uint)Math.Min(d, edge[i])).ToArray() : null;
        var dataset = new H5Dataset<Memory<T>>(fileDims: dims, chunks: chunks, datasetCreation: chunked ? Creation(options) : default);
        ulong rows = Math.Max(1, (ulong)CopySlabElements / rowElements);
        if (chunks is not null)
        {
            // Keep slabs whole chunks deep so each chunk is compressed once.
            rows = Math.Max(chunks[0], rows / chunks[0] * chunks[0]);
        }

        writes.Add(writer =>
        {
            // A generous read cache: the source's chunks may be laid out so that one slab row touches many of them.
            var access = new H5DatasetAccess(ChunkCache: new SimpleReadingChunkCache(4096, 256UL << 20));
            var buffer = new T[checked((int)(Math.Min(rows, dims[0]) * rowElements))];
            for (ulong r = 0; r < dims[0]; r += rows)
            {
                ct.ThrowIfCancellationRequested();
                ulong n = Math.Min(rows, dims[0] - r);
                var starts = new ulong[dims.Length];
                starts[0] = r;
                var counts = (ulong[])dims.Clone();
                counts[0] = n;
                var selection = new HyperslabSelection(dims.Length, starts, counts);
                var memory = buffer.AsMemory(0, (int)(n * rowElements));
                source.Read(access, memory.Span, fileSelection: selection);
                writer.Write(dataset, memory, fileSelection: selection);
            }
        });
        return dataset;
    }
}

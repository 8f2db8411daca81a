using System.Runtime.InteropServices;
using EmMask.Core.Volumes;
using PureHDF;
using PureHDF.Selections;
using PureHDF.VOL.Native;

namespace EmMask.IO.Formats;

/// <summary>
/// Reads 2D/3D datasets from HDF5 files through PureHDF (chunked, contiguous or compact; deflate, shuffle).
/// Reads go slab by slab along z so cancellation is honoured and only one slab is held twice when converting.
/// Every PureHDF failure is rethrown as a one-line <see cref="VolumeFormatException"/>.
/// </summary>
internal static class Hdf5Reader
{
    private static readonly byte[] Signature = [0x89, (byte)'H', (byte)'D', (byte)'F', 0x0d, 0x0a, 0x1a, 0x0a];

    // Filters PureHDF does not decode itself, registered once before the first file is opened: LZF (h5py's "lzf").
    private static readonly Lazy<bool> ExtraFilters = new(() =>
    {
        PureHDF.Filters.H5Filter.Register(new LzfFilter());
        return true;
    });

    /// <summary>Elements read per slab; bounds the extra memory a converting read needs.</summary>
    private const long SlabElements = 16L << 20;

    public static IVolume Read(string file, string dataset, CancellationToken ct)
    {
        using var h5 = Open(file);
        var ds = OpenDataset(h5, file, dataset);
        string where = $"{file}:{dataset}";
        var (dims, kind, axes) = Describe(ds, where);
        var shape = Shape3.FromDimensions(dims.Select(d => (long)d).ToArray());
        if (shape.Length > Array.MaxLength)
        {
            throw new VolumeFormatException($"{where}: shape {shape} ({shape.Length} voxels) is too large to load at once; process it block-wise.");
        }

        var volume = Guard(where, () => ReadRegion(ds, () => Reopen(file, dataset), axes, kind, (0, 0, 0), shape, where, ct));
        SetVoxelSize(volume, ReadVoxelSize(ds, where, axes));
        return volume;
    }

    public static IVolume ReadBlock(string file, string dataset, (int Z, int Y, int X) offset, Shape3 size, CancellationToken ct)
    {
        using var h5 = Open(file);
        var ds = OpenDataset(h5, file, dataset);
        string where = $"{file}:{dataset}";
        var (dims, kind, axes) = Describe(ds, where);
        var shape = Shape3.FromDimensions(dims.Select(d => (long)d).ToArray());
        BlockBounds.Check(shape, offset, size);
        var volume = Guard(where, () => ReadRegion(ds, () => Reopen(file, dataset), axes, kind, offset, size, where, ct));
        SetVoxelSize(volume, ReadVoxelSize(ds, where, axes));
        return volume;
    }

    public static Dictionary<string, string> ReadAttributes(string file, string dataset)
    {
        using var h5 = Open(file);
        var ds = OpenDataset(h5, file, dataset);
        return Guard($"{file}:{dataset}", () =>
        {
            var result = new Dictionary<string, string>();
            foreach (var attribute in ds.Attributes())
            {
                if (Hdf5Values.ReadString(attribute) is { } text)
                {
                    result[attribute.Name] = text;
                }
            }

            return result;
        });
    }

    public static IReadOnlyList<string> ListDatasets(string file)
    {
        using var h5 = Open(file);
        return ListDatasets(h5, file);
    }

    internal static IReadOnlyList<string> ListDatasets(NativeFile h5, string file) => Guard(file, () =>
    {
        var result = new List<string>();
        Walk(h5, "", result);
        return (IReadOnlyList<string>)result;
    });

    /// <summary>Opens a file, with a clear error for a missing file, a non-HDF5 file and a corrupt one.</summary>
    internal static NativeFile Open(string file)
    {
        if (!File.Exists(file))
        {
            throw new VolumeFormatException(Directory.Exists(file) ? $"{file}: is a directory, not an HDF5 file." : $"{file}: file not found.");
        }

        if (!HasSignature(file))
        {
            throw new VolumeFormatException($"{file}: not an HDF5 file (no HDF5 signature).");
        }

        _ = ExtraFilters.Value;
        try
        {
            return H5File.OpenRead(file);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw new VolumeFormatException($"{file}: corrupt or truncated HDF5 file ({AtomicFile.OneLine(ex.Message)}).", ex);
        }
    }

    internal static NativeDataset OpenDataset(NativeFile h5, string file, string dataset)
    {
        IH5Object? obj = Guard(file, () => Exists(h5, dataset) ? h5.Get(dataset) : null);
        if (obj is NativeDataset ds)
        {
            return ds;
        }

        var names = ListDatasets(h5, file);
        string listing = names.Count == 0 ? "the file has no datasets" : $"datasets in the file: {string.Join(", ", names)}";
        string problem = obj is null ? "not found" : "is a group, not a dataset";
        throw new VolumeFormatException($"{file}: dataset '{dataset}' {problem}; {listing}.");
    }

    /// <summary>True when every component of an absolute path exists (PureHDF throws on a missing parent).</summary>
    internal static bool Exists(NativeFile h5, string path)
    {
        IH5Group group = h5;
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        for (int i = 0; i < parts.Length; i++)
        {
            if (!group.LinkExists(parts[i]))
            {
                return false;
            }

            if (i < parts.Length - 1)
            {
                if (group.Get(parts[i]) is not IH5Group next)
                {
                    return false;
                }

                group = next;
            }
        }

        return true;
    }

    /// <summary>
    /// The dataset's spatial dimensions ((Y, X) or (Z, Y, X)), element kind and stored axes (a dataset of more axes is
    /// read where the extra ones have length 1: <see cref="StoredAxes"/>).
    /// </summary>
    internal static (ulong[] Dims, ElementKind Kind, StoredAxes Axes) Describe(IH5Dataset ds, string where)
    {
        var (space, type) = Guard(where, () => (ds.Space, ds.Type));
        ulong[] stored = space.Type == H5DataspaceType.Simple ? space.Dimensions : [];
        long[] signed = [.. stored.Select(d => d > long.MaxValue ? long.MaxValue : (long)d)];
        if (StoredAxes.Of(signed) is not { } axes)
        {
            string shape = stored.Length == 0 ? "a scalar" : $"shape ({string.Join(", ", stored)})";
            throw new VolumeFormatException($"{where}: expected 2D or 3D, got {stored.Length}D {shape}.{StoredAxes.Hint(signed)}{ColorImage.StackHint(signed)}");
        }

        if (stored.Any(d => d == 0))
        {
            throw new VolumeFormatException($"{where}: shape ({string.Join(", ", stored)}) has a 0-length axis.");
        }

        if (stored.Any(d => d > int.MaxValue))
        {
            throw new VolumeFormatException($"{where}: an axis of shape ({string.Join(", ", stored)}) is too long.");
        }

        return ([.. axes.SpatialDimensions.Select(d => (ulong)d)], ElementKinds.FromHdf5(type, where), axes);
    }

    /// <summary>Voxel size from <c>element_size_um</c> (µm) or <c>resolution</c> (nm), else null.</summary>
    /// <remarks>A dataset of more than three axes may give one value per stored axis; the spatial axes' are taken.</remarks>
    internal static VoxelSize? ReadVoxelSize(IH5Dataset ds, string where, StoredAxes axes) => Guard(where, () =>
    {
        double[]? Spatial(double[]? values) =>
            values is not null && values.Length == axes.Stored.Length && values.Length > 3 ? [.. axes.Spatial.Select(i => values[i])] : values;

        if (ds.AttributeExists(VolumeMetadata.ElementSizeUm)
            && VolumeMetadata.FromSpacing(Spatial(Hdf5Values.ReadNumbers(ds.Attribute(VolumeMetadata.ElementSizeUm))), 1000) is { } um)
        {
            return um;
        }

        if (ds.AttributeExists(VolumeMetadata.Resolution))
        {
            return VolumeMetadata.FromSpacing(Spatial(Hdf5Values.ReadNumbers(ds.Attribute(VolumeMetadata.Resolution))), 1);
        }

        return (VoxelSize?)null;
    });

    internal static T Guard<T>(string where, Func<T> action)
    {
        try
        {
            return action();
        }
        catch (Exception ex) when (ex.Message.Contains("Byte order conversion", StringComparison.OrdinalIgnoreCase))
        {
            throw new VolumeFormatException($"{where}: big-endian data is not supported; convert it to little-endian (e.g. h5py: d[()].astype('<u2')).", ex);
        }
        catch (Exception ex) when (ex is not (VolumeFormatException or OperationCanceledException or ArgumentException or OutOfMemoryException))
        {
            throw new VolumeFormatException($"{where}: cannot read HDF5 data ({AtomicFile.OneLine(ex.Message)}).", ex);
        }
    }

    // A second handle on the same file and dataset, for a worker reading its own bands.
    private static (NativeFile File, NativeDataset Dataset) Reopen(string file, string dataset)
    {
        var h5 = H5File.OpenRead(file);
        return (h5, (NativeDataset)h5.Get(dataset));
    }

    private static IVolume ReadRegion(NativeDataset ds, Func<(NativeFile, NativeDataset)> reopen, StoredAxes axes, ElementKind kind, (int Z, int Y, int X) offset, Shape3 size, string where, CancellationToken ct) => kind switch
    {
        ElementKind.UInt8 => ReadBands<byte, byte>(ds, reopen, axes, kind, offset, size, where, ct),
        ElementKind.UInt16 => ReadBands<ushort, ushort>(ds, reopen, axes, kind, offset, size, where, ct),
        ElementKind.Float32 => ReadBands<float, float>(ds, reopen, axes, kind, offset, size, where, ct),
        ElementKind.Int8 => ReadBands<sbyte, float>(ds, reopen, axes, kind, offset, size, where, ct),
        ElementKind.Int16 => ReadBands<short, float>(ds, reopen, axes, kind, offset, size, where, ct),
        ElementKind.Int32 => ReadBands<int, float>(ds, reopen, axes, kind, offset, size, where, ct),
        ElementKind.UInt32 => ReadBands<uint, float>(ds, reopen, axes, kind, offset, size, where, ct),
        ElementKind.Int64 => ReadBands<long, float>(ds, reopen, axes, kind, offset, size, where, ct),
        ElementKind.UInt64 => ReadBands<ulong, float>(ds, reopen, axes, kind, offset, size, where, ct),
        _ => ReadBands<double, float>(ds, reopen, axes, kind, offset, size, where, ct),
    };

    /// <summary>
    /// Reads the region in bands one chunk deep and one chunk high spanning the region's full x extent. PureHDF walks
    /// a selection row by row through its chunk cache; a band keeps the chunks one row touches in the cache (sized
    /// here), where a whole-slab read would thrash the default 1 MiB cache and decompress each chunk once per row.
    /// Chunked data is read one chunk-deep z band per unit on all cores, each worker with its own file handle, since
    /// decompression (single-threaded inside PureHDF) is most of the time.
    /// </summary>
    private static Volume<TOut> ReadBands<TIn, TOut>(NativeDataset ds, Func<(NativeFile, NativeDataset)> reopen, StoredAxes axes, ElementKind kind, (int Z, int Y, int X) offset, Shape3 size, string where, CancellationToken ct)
        where TIn : unmanaged, System.Numerics.INumberBase<TIn>
        where TOut : unmanaged
    {
        var volume = new Volume<TOut>(size);
        var chunk = ChunkShape(ds, axes);
        int bandDepth = chunk is { } c ? c.Z : (int)Math.Clamp(SlabElements / Math.Max(1, size.SliceLength), 1, size.Z);
        int firstBand = offset.Z / bandDepth, lastBand = (offset.Z + size.Z - 1) / bandDepth;
        int bands = lastBand - firstBand + 1;
        if (chunk is null || bands < 2 || Environment.ProcessorCount < 2)
        {
            var reader = new BandReader<TIn, TOut>(ds, null, chunk, axes, kind, offset, size, where);
            for (int b = firstBand; b <= lastBand; b++)
            {
                reader.Read(b, volume, ct);
            }

            return volume;
        }

        try
        {
            Parallel.For(
                firstBand,
                lastBand + 1,
                new ParallelOptions { CancellationToken = ct },
                () =>
                {
                    var (file, dataset) = reopen();
                    return new BandReader<TIn, TOut>(dataset, file, chunk, axes, kind, offset, size, where);
                },
                (b, _, reader) =>
                {
                    reader.Read((int)b, volume, ct);
                    return reader;
                },
                reader => reader.Dispose());
        }
        catch (AggregateException ex) when (ex.InnerExceptions.Count > 0)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ex.InnerExceptions[0]).Throw();
        }

        return volume;
    }

    /// <summary>Reads z bands of a region: one dataset handle (and, for workers, its own file), chunk cache and band buffer.</summary>
    private sealed class BandReader<TIn, TOut> : IDisposable
        where TIn : unmanaged, System.Numerics.INumberBase<TIn>
        where TOut : unmanaged
    {
        private readonly NativeDataset ds;
        private readonly NativeFile? ownedFile;
        private readonly StoredAxes axes;
        private readonly ElementKind kind;
        private readonly (int Z, int Y, int X) offset;
        private readonly Shape3 size;
        private readonly string where;
        private readonly H5DatasetAccess access;
        private readonly int bandDepth;
        private readonly int bandHeight;
        private readonly TIn[] buffer;

        public BandReader(NativeDataset ds, NativeFile? ownedFile, Shape3? chunk, StoredAxes axes, ElementKind kind, (int Z, int Y, int X) offset, Shape3 size, string where)
        {
            this.ds = ds;
            this.ownedFile = ownedFile;
            this.axes = axes;
            this.kind = kind;
            this.offset = offset;
            this.size = size;
            this.where = where;
            int elementSize = Marshal.SizeOf<TIn>();
            if (chunk is { } c)
            {
                bandDepth = c.Z;
                bandHeight = c.Y;
                int across = ((offset.X % c.X) + size.X + c.X - 1) / c.X;
                int slots = across + 1;
                access = new H5DatasetAccess(ChunkCache: new SimpleReadingChunkCache(slots, (ulong)slots * (ulong)c.Length * (ulong)elementSize));
            }
            else
            {
                bandHeight = size.Y;
                bandDepth = (int)Math.Clamp(SlabElements / Math.Max(1, size.SliceLength), 1, size.Z);
            }

            buffer = new TIn[Math.Min(bandDepth, size.Z) * Math.Min(bandHeight, size.Y) * size.X];
        }

        /// <summary>Reads the part of z band <paramref name="band"/> (planes band·depth onwards) that lies in the region.</summary>
        public void Read(int band, Volume<TOut> volume, CancellationToken ct)
        {
            int z0 = Math.Max(offset.Z, band * bandDepth);
            int z1 = Math.Min(offset.Z + size.Z, (band + 1) * bandDepth);
            for (int y0 = offset.Y; y0 < offset.Y + size.Y;)
            {
                ct.ThrowIfCancellationRequested();
                int y1 = Math.Min(offset.Y + size.Y, ((y0 / bandHeight) + 1) * bandHeight);
                int rows = y1 - y0;
                var data = buffer.AsSpan(0, (z1 - z0) * rows * size.X);
                var (starts, counts) = axes.Region((z0, y0, offset.X), (z1 - z0, rows, size.X));
                var selection = new HyperslabSelection(starts.Length, starts, counts);
                ds.Read(access, data, fileSelection: selection);
                for (int z = z0; z < z1; z++)
                {
                    for (int y = y0; y < y1; y++)
                    {
                        var row = data.Slice((((z - z0) * rows) + (y - y0)) * size.X, size.X);
                        var target = volume.Row(z - offset.Z, y - offset.Y);
                        if (typeof(TIn) == typeof(TOut))
                        {
                            MemoryMarshal.Cast<TIn, TOut>(row).CopyTo(target);
                        }
                        else
                        {
                            ElementKinds.ToFloat<TIn>(row, MemoryMarshal.Cast<TOut, float>(target), kind, where);
                        }
                    }
                }

                y0 = y1;
            }
        }

        public void Dispose() => ownedFile?.Dispose();
    }

    /// <summary>The chunk shape along the spatial axes as (z, y, x) (z = 1 for 2D), or null for contiguous and compact datasets.</summary>
    private static Shape3? ChunkShape(NativeDataset ds, StoredAxes axes)
    {
        int[] s = axes.Spatial;
        if (ds.Layout.Class != H5DataLayoutClass.Chunked || ds.Layout.Chunks is not { } chunks || chunks.Length < axes.Stored.Length)
        {
            return null;
        }

        return s.Length == 3
            ? new Shape3((int)chunks[s[0]], (int)chunks[s[1]], (int)chunks[s[2]])
            : new Shape3(1, (int)chunks[s[0]], (int)chunks[s[1]]);
    }

    private static void SetVoxelSize(IVolume volume, VoxelSize? size)
    {
        if (size is { } s)
        {
            volume.SetVoxelSize(s);
        }
    }

    private static void Walk(IH5Group group, string prefix, List<string> result)
    {
        foreach (var child in group.Children())
        {
            string path = $"{prefix}/{child.Name}";
            switch (child)
            {
                case IH5Dataset:
                    result.Add(path);
                    break;
                case IH5Group g:
                    Walk(g, path, result);
                    break;
            }
        }
    }

    private static bool HasSignature(string file)
    {
        // The superblock sits at 0 or, after a user block, at 512, 1024, 2048, ... (HDF5 spec, "Format Signature").
        using var stream = File.OpenRead(file);
        Span<byte> head = stackalloc byte[8];
        for (long at = 0; at + 8 <= stream.Length; at = at == 0 ? 512 : at * 2)
        {
            stream.Position = at;
            if (stream.ReadAtLeast(head, 8, throwOnEndOfStream: false) == 8 && head.SequenceEqual(Signature))
            {
                return true;
            }
        }

        return false;
    }
}

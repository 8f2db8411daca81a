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

    /// <summary>Elements read per slab; bounds the extra memory a converting read needs.</summary>
    private const long SlabElements = 16L << 20;

    public static IVolume Read(string file, string dataset, CancellationToken ct)
    {
        using var h5 = Open(file);
        var ds = OpenDataset(h5, file, dataset);
        string where = $"{file}:{dataset}";
        var (dims, kind) = Describe(ds, where);
        var shape = Shape3.FromDimensions(dims.Select(d => (long)d).ToArray());
        if (shape.Length > Array.MaxLength)
        {
            throw new VolumeFormatException($"{where}: shape {shape} ({shape.Length} voxels) is too large to load at once; process it block-wise.");
        }

        var volume = Guard(where, () => ReadRegion(ds, dims.Length, kind, (0, 0, 0), shape, where, ct));
        SetVoxelSize(volume, ReadVoxelSize(ds, where));
        return volume;
    }

    public static IVolume ReadBlock(string file, string dataset, (int Z, int Y, int X) offset, Shape3 size, CancellationToken ct)
    {
        using var h5 = Open(file);
        var ds = OpenDataset(h5, file, dataset);
        string where = $"{file}:{dataset}";
        var (dims, kind) = Describe(ds, where);
        var shape = Shape3.FromDimensions(dims.Select(d => (long)d).ToArray());
        BlockBounds.Check(shape, offset, size);
        var volume = Guard(where, () => ReadRegion(ds, dims.Length, kind, offset, size, where, ct));
        SetVoxelSize(volume, ReadVoxelSize(ds, where));
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

    internal static (ulong[] Dims, ElementKind Kind) Describe(IH5Dataset ds, string where)
    {
        var (space, type) = Guard(where, () => (ds.Space, ds.Type));
        ulong[] dims = space.Type == H5DataspaceType.Simple ? space.Dimensions : [];
        if (dims.Length is < 2 or > 3)
        {
            string shape = dims.Length == 0 ? "a scalar" : $"shape ({string.Join(", ", dims)})";
            throw new VolumeFormatException($"{where}: expected 2D or 3D, got {dims.Length}D {shape}.");
        }

        if (dims.Any(d => d == 0))
        {
            throw new VolumeFormatException($"{where}: shape ({string.Join(", ", dims)}) has a 0-length axis.");
        }

        if (dims.Any(d => d > int.MaxValue))
        {
            throw new VolumeFormatException($"{where}: an axis of shape ({string.Join(", ", dims)}) is too long.");
        }

        return (dims, ElementKinds.FromHdf5(type, where));
    }

    /// <summary>Voxel size from <c>element_size_um</c> (µm) or <c>resolution</c> (nm), else null.</summary>
    internal static VoxelSize? ReadVoxelSize(IH5Dataset ds, string where) => Guard(where, () =>
    {
        if (ds.AttributeExists(VolumeMetadata.ElementSizeUm)
            && VolumeMetadata.FromSpacing(Hdf5Values.ReadNumbers(ds.Attribute(VolumeMetadata.ElementSizeUm)), 1000) is { } um)
        {
            return um;
        }

        if (ds.AttributeExists(VolumeMetadata.Resolution))
        {
            return VolumeMetadata.FromSpacing(Hdf5Values.ReadNumbers(ds.Attribute(VolumeMetadata.Resolution)), 1);
        }

        return (VoxelSize?)null;
    });

    internal static T Guard<T>(string where, Func<T> action)
    {
        try
        {
            return action();
        }
        catch (Exception ex) when (ex is not (VolumeFormatException or OperationCanceledException or ArgumentException or OutOfMemoryException))
        {
            throw new VolumeFormatException($"{where}: cannot read HDF5 data ({AtomicFile.OneLine(ex.Message)}).", ex);
        }
    }

    private static IVolume ReadRegion(NativeDataset ds, int rank, ElementKind kind, (int Z, int Y, int X) offset, Shape3 size, string where, CancellationToken ct) => kind switch
    {
        ElementKind.UInt8 => ReadNative<byte>(ds, rank, offset, size, ct),
        ElementKind.UInt16 => ReadNative<ushort>(ds, rank, offset, size, ct),
        ElementKind.Float32 => ReadNative<float>(ds, rank, offset, size, ct),
        ElementKind.Int8 => ReadConverted<sbyte>(ds, rank, kind, offset, size, where, ct),
        ElementKind.Int16 => ReadConverted<short>(ds, rank, kind, offset, size, where, ct),
        ElementKind.Int32 => ReadConverted<int>(ds, rank, kind, offset, size, where, ct),
        ElementKind.UInt32 => ReadConverted<uint>(ds, rank, kind, offset, size, where, ct),
        ElementKind.Int64 => ReadConverted<long>(ds, rank, kind, offset, size, where, ct),
        ElementKind.UInt64 => ReadConverted<ulong>(ds, rank, kind, offset, size, where, ct),
        _ => ReadConverted<double>(ds, rank, kind, offset, size, where, ct),
    };

    private static Volume<T> ReadNative<T>(NativeDataset ds, int rank, (int Z, int Y, int X) offset, Shape3 size, CancellationToken ct)
        where T : unmanaged
    {
        var volume = new Volume<T>(size);
        foreach (var (z0, nz) in Slabs(size))
        {
            ct.ThrowIfCancellationRequested();
            var target = volume.Span.Slice((int)size.Index(z0, 0, 0), nz * size.SliceLength);
            ds.Read(target, fileSelection: Selection(rank, offset, z0, nz, size));
        }

        return volume;
    }

    private static Volume<float> ReadConverted<T>(NativeDataset ds, int rank, ElementKind kind, (int Z, int Y, int X) offset, Shape3 size, string where, CancellationToken ct)
        where T : unmanaged, System.Numerics.INumberBase<T>
    {
        var volume = new Volume<float>(size);
        T[]? buffer = null;
        foreach (var (z0, nz) in Slabs(size))
        {
            ct.ThrowIfCancellationRequested();
            int count = nz * size.SliceLength;
            buffer ??= new T[count];
            var slab = buffer.AsSpan(0, count);
            ds.Read(slab, fileSelection: Selection(rank, offset, z0, nz, size));
            ElementKinds.ToFloat<T>(slab, volume.Span.Slice((int)size.Index(z0, 0, 0), count), kind, where);
        }

        return volume;
    }

    private static IEnumerable<(int Z0, int Count)> Slabs(Shape3 size)
    {
        int depth = (int)Math.Clamp(SlabElements / Math.Max(1, size.SliceLength), 1, size.Z);
        for (int z = 0; z < size.Z; z += depth)
        {
            yield return (z, Math.Min(depth, size.Z - z));
        }
    }

    private static HyperslabSelection Selection(int rank, (int Z, int Y, int X) offset, int z0, int nz, Shape3 size) => rank == 3
        ? new HyperslabSelection(3, [(ulong)(offset.Z + z0), (ulong)offset.Y, (ulong)offset.X], [(ulong)nz, (ulong)size.Y, (ulong)size.X])
        : new HyperslabSelection(2, [(ulong)offset.Y, (ulong)offset.X], [(ulong)size.Y, (ulong)size.X]);

    private static void SetVoxelSize(IVolume volume, VoxelSize? size)
    {
        if (size is not { } s)
        {
            return;
        }

        switch (volume)
        {
            case Volume<byte> v: v.VoxelSize = s; break;
            case Volume<ushort> v: v.VoxelSize = s; break;
            case Volume<float> v: v.VoxelSize = s; break;
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

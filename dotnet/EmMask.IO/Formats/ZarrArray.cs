using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using EmMask.Core.Volumes;
using K4os.Compression.LZ4;

namespace EmMask.IO.Formats;

/// <summary>
/// A Zarr v2 array (a folder holding <c>.zarray</c>), as zarr-python, dask, napari and OME-Zarr write it: C order,
/// chunk keys joined by '.' or '/', no filters, compressed by Blosc (<see cref="BloscFrame"/>), zlib, gzip, Zstandard
/// or LZ4, or stored; chunks that were never written hold the fill value. Only the chunks a region touches are read, so
/// block-wise runs read their blocks. More axes than three are read where the extra ones have length 1
/// (<see cref="StoredAxes"/>). The voxel size comes from the array's <c>.zattrs</c> (<c>resolution</c> in nm,
/// <c>element_size_um</c>) or from an OME-Zarr image's <c>multiscales</c> (the scale of this array's level, in its axes'
/// units). Zarr v3 and groups are refused with a message naming what to give instead.
/// </summary>
internal sealed class ZarrArray
{
    private readonly string folder;
    private readonly long[] chunks;
    private readonly string separator;
    private readonly string? compressor;
    private readonly double fill;
    private readonly bool bigEndian;

    private ZarrArray(string folder, StoredAxes axes, ElementKind kind, bool bigEndian, long[] chunks, string separator, JsonNode? compressorNode, double fill)
    {
        this.folder = folder;
        Axes = axes;
        Kind = kind;
        this.bigEndian = bigEndian;
        this.chunks = chunks;
        this.separator = separator;
        compressor = compressorNode?["id"]?.GetValue<string>();
        this.fill = fill;
        long[] spatial = axes.SpatialDimensions;
        Shape = spatial.Length == 2 ? new Shape3(1, (int)spatial[0], (int)spatial[1]) : Shape3.FromDimensions(spatial);
    }

    /// <summary>The stored axes.</summary>
    public StoredAxes Axes { get; }

    /// <summary>The element kind as stored.</summary>
    public ElementKind Kind { get; }

    /// <summary>The shape read: (1, Y, X) for a 2D array.</summary>
    public Shape3 Shape { get; }

    /// <summary>True for a folder that holds a Zarr v2 array (<c>.zarray</c>).</summary>
    public static bool IsArray(string path) => Directory.Exists(path) && File.Exists(Path.Combine(path, ".zarray"));

    /// <summary>True for a path that names Zarr: an array or group folder (v2 or v3), or a name ending in <c>.zarr</c>.</summary>
    public static bool Names(string path) =>
        IsArray(path)
        || (Directory.Exists(path) && (File.Exists(Path.Combine(path, ".zgroup")) || File.Exists(Path.Combine(path, "zarr.json"))))
        || Path.TrimEndingDirectorySeparator(path).EndsWith(".zarr", StringComparison.OrdinalIgnoreCase);

    /// <summary>Opens an array's metadata.</summary>
    /// <exception cref="VolumeFormatException">Not a readable Zarr v2 array; the message says what to give.</exception>
    public static ZarrArray Open(string path)
    {
        if (!Directory.Exists(path))
        {
            throw new VolumeFormatException($"{path}: no such Zarr array (a folder holding .zarray).");
        }

        if (!File.Exists(Path.Combine(path, ".zarray")))
        {
            if (File.Exists(Path.Combine(path, "zarr.json")))
            {
                throw new VolumeFormatException($"{path}: Zarr v3 is not read yet; save the array as Zarr v2 (zarr_format=2), HDF5 or TIFF.");
            }

            var arrays = Directory.EnumerateDirectories(path).Where(IsArray).Select(Path.GetFileName).Order(StringComparer.Ordinal).Take(8).ToList();
            string hint = arrays.Count > 0 ? $"; name one of its arrays: {string.Join(", ", arrays.Select(a => Path.Combine(path, a!)))}" : "; it holds no array";
            throw new VolumeFormatException($"{path}: is a Zarr group, not an array{hint}.");
        }

        JsonNode meta;
        try
        {
            meta = JsonNode.Parse(File.ReadAllText(Path.Combine(path, ".zarray"))) ?? throw new JsonException("empty");
        }
        catch (Exception ex) when (ex is JsonException or IOException)
        {
            throw new VolumeFormatException($"{path}: cannot read .zarray ({AtomicFile.OneLine(ex.Message)}).", ex);
        }

        try
        {
            if (meta["zarr_format"]?.GetValue<int>() != 2)
            {
                throw new VolumeFormatException($"{path}: zarr_format {meta["zarr_format"]} is not read; Zarr v2 is.");
            }

            long[] shape = [.. meta["shape"]!.AsArray().Select(n => n!.GetValue<long>())];
            long[] chunks = [.. meta["chunks"]!.AsArray().Select(n => n!.GetValue<long>())];
            string dtype = meta["dtype"] is JsonValue v ? v.GetValue<string>() : throw new VolumeFormatException($"{path}: a structured dtype is not supported; use uint8, uint16 or float32.");
            var (kind, big) = ElementKinds.FromNumpy(dtype, path);
            if (meta["order"]?.GetValue<string>() is "F")
            {
                throw new VolumeFormatException($"{path}: Fortran-ordered chunks are not read; re-save the array with order='C'.");
            }

            if (meta["filters"] is JsonArray { Count: > 0 } filters)
            {
                string ids = string.Join(", ", filters.Select(f => f?["id"]?.ToString() ?? "?"));
                throw new VolumeFormatException($"{path}: Zarr filters ({ids}) are not supported; re-save the array without filters.");
            }

            if (StoredAxes.Of(shape) is not { } axes)
            {
                throw new VolumeFormatException($"{path}: expected 2D or 3D, got {shape.Length}D shape ({string.Join(", ", shape)}).{StoredAxes.Hint(shape)}{ColorImage.StackHint(shape)}");
            }

            if (shape.Any(d => d == 0) || chunks.Length != shape.Length || chunks.Any(c => c <= 0))
            {
                throw new VolumeFormatException($"{path}: shape ({string.Join(", ", shape)}) with chunks ({string.Join(", ", chunks)}) holds no voxel or does not match.");
            }

            if (shape.Any(d => d > int.MaxValue) || chunks.Aggregate(1L, (a, c) => a * c) > Array.MaxLength / 8)
            {
                throw new VolumeFormatException($"{path}: an axis or chunk of shape ({string.Join(", ", shape)}) is too large.");
            }

            var compressorNode = meta["compressor"];
            string? id = compressorNode?["id"]?.GetValue<string>();
            if (id is not (null or "blosc" or "zlib" or "gzip" or "zstd" or "lz4"))
            {
                throw new VolumeFormatException($"{path}: the Zarr compressor '{id}' is not supported; re-save the array with Blosc (zarr's default), zlib, gzip, zstd or lz4.");
            }

            double fill = meta["fill_value"] switch
            {
                null => 0,
                JsonValue f when f.TryGetValue(out double number) => number,
                JsonValue f when f.TryGetValue(out string? text) && text is "NaN" => double.NaN,
                _ => 0,
            };
            string separator = meta["dimension_separator"]?.GetValue<string>() ?? ".";
            return new ZarrArray(path, axes, kind, big, chunks, separator, compressorNode, fill);
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException or NullReferenceException or KeyNotFoundException or JsonException)
        {
            throw new VolumeFormatException($"{path}: malformed .zarray ({AtomicFile.OneLine(ex.Message)}).", ex);
        }
    }

    /// <summary>The voxel size of the array's attributes or of its OME-Zarr image, or null.</summary>
    public VoxelSize? ReadVoxelSize()
    {
        if (ReadJson(Path.Combine(folder, ".zattrs")) is JsonObject own)
        {
            if (Numbers(own["element_size_um"]) is { } um && VolumeMetadata.FromSpacing(Spatial(um), 1000) is { } fromUm)
            {
                return fromUm;
            }

            if (Numbers(own["resolution"]) is { } nm && VolumeMetadata.FromSpacing(Spatial(nm), 1) is { } fromNm)
            {
                return fromNm;
            }
        }

        // OME-Zarr (NGFF 0.4): the parent image lists its levels, each with a scale per axis in the axis's unit.
        string? parent = Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(folder));
        string level = Path.GetFileName(Path.TrimEndingDirectorySeparator(folder));
        if (parent is null || ReadJson(Path.Combine(parent, ".zattrs"))?["multiscales"] is not JsonArray { Count: > 0 } multiscales)
        {
            return null;
        }

        var image = multiscales[0]!;
        var dataset = image["datasets"]?.AsArray().FirstOrDefault(d => d?["path"]?.ToString() == level);
        var scale = dataset?["coordinateTransformations"]?.AsArray().FirstOrDefault(t => t?["type"]?.ToString() == "scale");
        if (Numbers(scale?["scale"]) is not { } values || values.Length != Axes.Stored.Length)
        {
            return null;
        }

        var axes = image["axes"] as JsonArray;
        for (int i = 0; i < values.Length; i++)
        {
            string? unit = axes is { } a && i < a.Count ? a[i]?["unit"]?.ToString() : null;
            values[i] *= unit switch { "micrometer" => 1000, "angstrom" => 0.1, "millimeter" => 1e6, _ => 1 };
        }

        return VolumeMetadata.FromSpacing(Spatial(values), 1);
    }

    /// <summary>The string members of the array's <c>.zattrs</c>.</summary>
    public Dictionary<string, string> ReadAttributes()
    {
        var result = new Dictionary<string, string>();
        if (ReadJson(Path.Combine(folder, ".zattrs")) is JsonObject attributes)
        {
            foreach (var (key, value) in attributes)
            {
                if (value is JsonValue v && v.TryGetValue(out string? text))
                {
                    result[key] = text;
                }
            }
        }

        return result;
    }

    /// <summary>Reads the region at <paramref name="offset"/> of <paramref name="size"/> voxels, chunk by chunk.</summary>
    public IVolume Read((int Z, int Y, int X) offset, Shape3 size, CancellationToken ct)
    {
        IVolume volume = Kind switch
        {
            ElementKind.UInt8 => ReadRegion<byte>(offset, size, ct),
            ElementKind.UInt16 => ReadRegion<ushort>(offset, size, ct),
            _ => ReadRegion<float>(offset, size, ct),
        };
        if (ReadVoxelSize() is { } s)
        {
            volume.SetVoxelSize(s);
        }

        return volume;
    }

    private static JsonNode? ReadJson(string file)
    {
        try
        {
            return File.Exists(file) ? JsonNode.Parse(File.ReadAllText(file)) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static double[]? Numbers(JsonNode? node) =>
        node is JsonArray array && array.All(n => n is JsonValue v && v.TryGetValue(out double _))
            ? [.. array.Select(n => n!.GetValue<double>())]
            : null;

    // Values given per stored axis, narrowed to the spatial ones; other lengths as they are.
    private double[] Spatial(double[] values) =>
        values.Length == Axes.Stored.Length && values.Length > Axes.Spatial.Length ? [.. Axes.Spatial.Select(i => values[i])] : values;

    private Volume<T> ReadRegion<T>((int Z, int Y, int X) offset, Shape3 size, CancellationToken ct)
        where T : unmanaged
    {
        var volume = new Volume<T>(size);
        int rank = Axes.Stored.Length;
        int[] s = Axes.Spatial;
        var (zAxis, yAxis, xAxis) = s.Length == 3 ? (s[0], s[1], s[2]) : (-1, s[0], s[1]);
        long cz = zAxis < 0 ? 1 : chunks[zAxis], cy = chunks[yAxis], cx = chunks[xAxis];

        // Element strides inside a chunk (C order over the stored axes).
        var stride = new long[rank];
        stride[rank - 1] = 1;
        for (int a = rank - 2; a >= 0; a--)
        {
            stride[a] = stride[a + 1] * chunks[a + 1];
        }

        long chunkElements = stride[0] * chunks[0];
        var index = new long[rank];
        for (long kz = offset.Z / cz; kz * cz < offset.Z + size.Z; kz++)
        {
            for (long ky = offset.Y / cy; ky * cy < offset.Y + size.Y; ky++)
            {
                for (long kx = offset.X / cx; kx * cx < offset.X + size.X; kx++)
                {
                    ct.ThrowIfCancellationRequested();
                    if (zAxis >= 0)
                    {
                        index[zAxis] = kz;
                    }

                    index[yAxis] = ky;
                    index[xAxis] = kx;
                    var chunk = ReadChunk<T>(index, chunkElements);
                    int z0 = (int)Math.Max(offset.Z, kz * cz), z1 = (int)Math.Min(offset.Z + size.Z, (kz + 1) * cz);
                    int y0 = (int)Math.Max(offset.Y, ky * cy), y1 = (int)Math.Min(offset.Y + size.Y, (ky + 1) * cy);
                    int x0 = (int)Math.Max(offset.X, kx * cx), x1 = (int)Math.Min(offset.X + size.X, (kx + 1) * cx);
                    long sx = stride[xAxis];
                    for (int z = z0; z < z1; z++)
                    {
                        for (int y = y0; y < y1; y++)
                        {
                            long at = ((zAxis < 0 ? 0 : (z - (kz * cz)) * stride[zAxis]) + ((y - (ky * cy)) * stride[yAxis])) + ((x0 - (kx * cx)) * sx);
                            var row = volume.Row(z - offset.Z, y - offset.Y).Slice(x0 - offset.X, x1 - x0);
                            if (sx == 1)
                            {
                                chunk.AsSpan((int)at, row.Length).CopyTo(row);
                            }
                            else
                            {
                                for (int i = 0; i < row.Length; i++)
                                {
                                    row[i] = chunk[at + (i * sx)];
                                }
                            }
                        }
                    }
                }
            }
        }

        return volume;
    }

    // One chunk as elements of the output type: decompressed, byte-swapped, converted; the fill value where it is absent.
    private T[] ReadChunk<T>(long[] index, long elements)
        where T : unmanaged
    {
        string key = string.Join(separator, index);
        string file = Path.Combine(folder, separator == "/" ? key.Replace('/', Path.DirectorySeparatorChar) : key);
        var result = new T[elements];
        if (!File.Exists(file))
        {
            var value = typeof(T) == typeof(byte) ? (T)(object)(byte)fill : typeof(T) == typeof(ushort) ? (T)(object)(ushort)fill : (T)(object)(float)fill;
            Array.Fill(result, value);
            return result;
        }

        string where = $"{folder} chunk {key}";
        byte[] bytes;
        try
        {
            bytes = Decompress(File.ReadAllBytes(file), where);
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or ZstdSharp.ZstdException)
        {
            throw new VolumeFormatException($"{where}: cannot decompress ({AtomicFile.OneLine(ex.Message)}).", ex);
        }

        int elementSize = Kind.Size();
        if (bytes.Length != elements * elementSize)
        {
            throw new VolumeFormatException($"{where}: {bytes.Length} bytes where a chunk holds {elements * elementSize}.");
        }

        if (bigEndian)
        {
            ByteOrder.Swap(bytes, elementSize);
        }

        if (Kind.IsNative())
        {
            MemoryMarshal.Cast<byte, T>(bytes).CopyTo(result);
        }
        else
        {
            ElementKinds.ToFloat(bytes, MemoryMarshal.Cast<T, float>(result.AsSpan()), Kind, where);
        }

        return result;
    }

    private byte[] Decompress(byte[] stored, string where)
    {
        switch (compressor)
        {
            case null:
                return stored;
            case "blosc":
                return BloscFrame.Decompress(stored, where);
            case "zstd":
                using (var zstd = new ZstdSharp.Decompressor())
                {
                    return zstd.Unwrap(stored).ToArray();
                }

            case "lz4": // numcodecs: the uncompressed size (int32, little-endian), then one LZ4 block
                int size = stored.Length >= 4 ? BinaryPrimitives.ReadInt32LittleEndian(stored) : -1;
                var output = new byte[Math.Max(0, size)];
                if (size < 0 || LZ4Codec.Decode(stored.AsSpan(4), output) != size)
                {
                    throw new VolumeFormatException($"{where}: corrupt LZ4 chunk.");
                }

                return output;
            default:
                using (var input = new MemoryStream(stored))
                using (Stream inflate = compressor == "gzip" ? new GZipStream(input, CompressionMode.Decompress) : new ZLibStream(input, CompressionMode.Decompress))
                using (var output2 = new MemoryStream())
                {
                    inflate.CopyTo(output2);
                    return output2.ToArray();
                }
        }
    }
}

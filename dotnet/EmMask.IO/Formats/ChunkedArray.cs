using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using EmMask.Core.Volumes;
using K4os.Compression.LZ4;

namespace EmMask.IO.Formats;

/// <summary>
/// A chunked array on disk: a Zarr v2 array (a folder holding <c>.zarray</c>), as zarr-python, dask, napari and OME-Zarr
/// write it, or an N5 dataset (a folder holding <c>attributes.json</c> with <c>dimensions</c>), as BigDataViewer, Paintera
/// and the Janelia / CellMap tools write it. Zarr: C order, chunk keys joined by '.' or '/', no filters, compressed by
/// Blosc (<see cref="BloscFrame"/>), zlib, gzip, Zstandard or LZ4, or stored; N5: axes listed x first, big-endian blocks
/// with their own header (edge blocks may be cut short), gzip, zlib, Blosc, Zstandard or raw, keys <c>x/y/z</c>. Chunks
/// that were never written hold the fill value. Only the chunks a region touches are read, so block-wise runs read their
/// blocks. More axes than three are read where the extra ones have length 1 (<see cref="StoredAxes"/>). The voxel size
/// comes from the attributes (Zarr <c>.zattrs</c>: <c>resolution</c> in nm, <c>element_size_um</c>, or the OME-Zarr
/// image's <c>multiscales</c> scale of this level; N5: <c>pixelResolution</c> or <c>resolution</c>, x first). Zarr v3,
/// groups and other codecs are refused with a message naming what to give instead.
/// </summary>
internal sealed class ChunkedArray
{
    private readonly string folder;
    private readonly long[] chunks;
    private readonly string separator;
    private readonly string? compressor;
    private readonly double fill;
    private readonly bool bigEndian;
    private readonly bool n5;

    private ChunkedArray(string folder, StoredAxes axes, ElementKind kind, bool bigEndian, long[] chunks, string separator, string? compressor, double fill, bool n5 = false)
    {
        this.folder = folder;
        Axes = axes;
        Kind = kind;
        this.bigEndian = bigEndian;
        this.chunks = chunks;
        this.separator = separator;
        this.compressor = compressor;
        this.fill = fill;
        this.n5 = n5;
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

    /// <summary>True for a folder that holds an N5 dataset (<c>attributes.json</c> with <c>dimensions</c>).</summary>
    public static bool IsN5Dataset(string path) =>
        File.Exists(Path.Combine(path, "attributes.json")) && ReadJson(Path.Combine(path, "attributes.json")) is JsonObject a && a.ContainsKey("dimensions");

    /// <summary>True for a path that names N5: a dataset, a container or group (<c>attributes.json</c>), or a name ending in <c>.n5</c>.</summary>
    public static bool NamesN5(string path) =>
        (Directory.Exists(path) && File.Exists(Path.Combine(path, "attributes.json")))
        || Path.TrimEndingDirectorySeparator(path).EndsWith(".n5", StringComparison.OrdinalIgnoreCase);

    /// <summary>Opens a Zarr array's or an N5 dataset's metadata.</summary>
    /// <exception cref="VolumeFormatException">Not a readable array; the message says what to give.</exception>
    public static ChunkedArray Open(string path) =>
        Directory.Exists(path) && File.Exists(Path.Combine(path, "attributes.json")) || Path.TrimEndingDirectorySeparator(path).EndsWith(".n5", StringComparison.OrdinalIgnoreCase)
            ? OpenN5(path)
            : OpenZarr(path);

    private static ChunkedArray OpenN5(string path)
    {
        if (!Directory.Exists(path))
        {
            throw new VolumeFormatException($"{path}: no such N5 dataset (a folder holding attributes.json).");
        }

        if (!IsN5Dataset(path))
        {
            var datasets = Directory.EnumerateDirectories(path).Where(IsN5Dataset).Select(Path.GetFileName).Order(StringComparer.Ordinal).Take(8).ToList();
            string hint = datasets.Count > 0 ? $"; name one of its datasets: {string.Join(", ", datasets.Select(d => Path.Combine(path, d!)))}" : "; it holds no dataset";
            throw new VolumeFormatException($"{path}: is an N5 container or group, not a dataset{hint}.");
        }

        var meta = ReadJson(Path.Combine(path, "attributes.json"))!;
        try
        {
            long[] shape = [.. meta["dimensions"]!.AsArray().Select(n => n!.GetValue<long>()).Reverse()];
            long[] chunks = [.. meta["blockSize"]!.AsArray().Select(n => n!.GetValue<long>()).Reverse()];
            string type = meta["dataType"]!.GetValue<string>();
            ElementKind kind = type switch
            {
                "uint8" => ElementKind.UInt8,
                "uint16" => ElementKind.UInt16,
                "float32" => ElementKind.Float32,
                "int8" => ElementKind.Int8,
                "int16" => ElementKind.Int16,
                "int32" => ElementKind.Int32,
                "uint32" => ElementKind.UInt32,
                "int64" => ElementKind.Int64,
                "uint64" => ElementKind.UInt64,
                "float64" => ElementKind.Float64,
                _ => throw new VolumeFormatException($"{path}: N5 dataType '{type}' is not supported; use uint8, uint16 or float32."),
            };
            string compression = meta["compression"]?["type"]?.GetValue<string>() ?? meta["compressionType"]?.GetValue<string>() ?? "raw";
            string? codec = compression switch
            {
                "raw" => null,
                "gzip" => meta["compression"]?["useZlib"]?.GetValue<bool>() == true ? "zlib" : "gzip",
                "blosc" or "zstd" => compression,
                _ => throw new VolumeFormatException($"{path}: N5 compression '{compression}' is not supported; re-save the dataset with gzip, blosc, zstd or raw."),
            };
            if (StoredAxes.Of(shape) is not { } axes)
            {
                throw new VolumeFormatException($"{path}: expected 2D or 3D, got {shape.Length}D shape ({string.Join(", ", shape)}).{StoredAxes.Hint(shape)}");
            }

            if (shape.Any(d => d <= 0 || d > int.MaxValue) || chunks.Length != shape.Length || chunks.Any(c => c <= 0) || chunks.Aggregate(1L, (a, c) => a * c) > Array.MaxLength / 8)
            {
                throw new VolumeFormatException($"{path}: dimensions ({string.Join(", ", shape)}) with blocks ({string.Join(", ", chunks)}) hold no voxel, do not match or are too large.");
            }

            return new ChunkedArray(path, axes, kind, bigEndian: true, chunks, "/", codec, 0, n5: true);
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException or NullReferenceException or KeyNotFoundException or JsonException)
        {
            throw new VolumeFormatException($"{path}: malformed N5 attributes.json ({AtomicFile.OneLine(ex.Message)}).", ex);
        }
    }

    private static ChunkedArray OpenZarr(string path)
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
            return new ChunkedArray(path, axes, kind, big, chunks, separator, id, fill);
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException or NullReferenceException or KeyNotFoundException or JsonException)
        {
            throw new VolumeFormatException($"{path}: malformed .zarray ({AtomicFile.OneLine(ex.Message)}).", ex);
        }
    }

    /// <summary>The voxel size of the array's attributes or of its OME-Zarr image, or null.</summary>
    public VoxelSize? ReadVoxelSize()
    {
        if (n5)
        {
            // N5 lists x first: pixelResolution {dimensions, unit} (Saalfeld lab), or resolution (BigDataViewer).
            var n5Attributes = ReadJson(Path.Combine(folder, "attributes.json"));
            var pixel = n5Attributes?["pixelResolution"];
            double unit = pixel?["unit"]?.ToString() switch { "um" or "µm" or "micrometer" => 1000, _ => 1 };
            double[]? xyz = Numbers(pixel?["dimensions"]) ?? Numbers(n5Attributes?["resolution"]);
            return xyz is null ? null : VolumeMetadata.FromSpacing(Spatial([.. xyz.Reverse()]), unit);
        }

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

    /// <summary>The string members of the array's attributes (<c>.zattrs</c>, N5's <c>attributes.json</c>).</summary>
    public Dictionary<string, string> ReadAttributes()
    {
        var result = new Dictionary<string, string>();
        if (ReadJson(Path.Combine(folder, n5 ? "attributes.json" : ".zattrs")) is JsonObject attributes)
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
        string key = n5 ? string.Join('/', index.Reverse()) : string.Join(separator, index);
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
            byte[] stored = File.ReadAllBytes(file);
            if (n5)
            {
                var (start, block) = N5Header(stored, where);
                bytes = Padded(Decompress(stored[start..], where), block, where);
            }
            else
            {
                bytes = Decompress(stored, where);
            }
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

    // An N5 block's header (big-endian): mode (0 default, 1 with an element count), the number of axes, the block's own
    // size per axis (x first; an edge block may be cut short); returns where the data starts and the size in C order.
    private (int Start, long[] Block) N5Header(byte[] stored, string where)
    {
        if (stored.Length < 4)
        {
            throw new VolumeFormatException($"{where}: truncated N5 block.");
        }

        int mode = BinaryPrimitives.ReadUInt16BigEndian(stored);
        int rank = BinaryPrimitives.ReadUInt16BigEndian(stored.AsSpan(2));
        int start = 4 + (4 * rank) + (mode == 1 ? 4 : 0);
        if (mode is not (0 or 1) || rank != chunks.Length || stored.Length < start)
        {
            throw new VolumeFormatException($"{where}: not an N5 block of this dataset (mode {mode}, {rank} axes).");
        }

        long[] block = [.. Enumerable.Range(0, rank).Select(i => (long)BinaryPrimitives.ReadUInt32BigEndian(stored.AsSpan(4 + (4 * i)))).Reverse()];
        if (block.Zip(chunks).Any(p => p.First > p.Second))
        {
            throw new VolumeFormatException($"{where}: an N5 block of ({string.Join(", ", block)}) in blocks of ({string.Join(", ", chunks)}).");
        }

        return (start, block);
    }

    // A block cut short at the dataset's edge, laid out in a whole chunk (the rest 0), as Zarr stores edge chunks.
    private byte[] Padded(byte[] data, long[] block, string where)
    {
        int size = Kind.Size();
        if (data.Length != block.Aggregate(1L, (a, b) => a * b) * size)
        {
            throw new VolumeFormatException($"{where}: {data.Length} bytes where the block holds ({string.Join(", ", block)}).");
        }

        if (block.SequenceEqual(chunks))
        {
            return data;
        }

        var whole = new byte[chunks.Aggregate(1L, (a, c) => a * c) * size];
        int rank = chunks.Length;
        long run = block[rank - 1] * size;
        var at = new long[rank]; // the index of the run's first element, over all axes but the last
        for (long r = 0; r * run < data.Length; r++)
        {
            long target = 0;
            for (int a = 0; a < rank - 1; a++)
            {
                target = (target * chunks[a]) + at[a];
            }

            data.AsSpan((int)(r * run), (int)run).CopyTo(whole.AsSpan((int)(target * chunks[rank - 1] * size)));
            for (int a = rank - 2; a >= 0 && ++at[a] == block[a]; a--)
            {
                at[a] = 0;
            }
        }

        return whole;
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

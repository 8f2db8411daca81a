using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using EmMask.Core.Volumes;

namespace EmMask.IO.Formats;

/// <summary>
/// Reads and writes numpy's <c>.npy</c> format (versions 1–3) for 2D/3D uint8, uint16 and float32 arrays in C or
/// Fortran order (written little-endian; big-endian numbers are read byte-swapped). More axes are read where the extra
/// ones have length 1 (<see cref="StoredAxes"/>). bool reads as uint8; int8/16/32/64, uint32/64 and float64 are converted
/// to float32 (integers only when every value is within ±2^24, where float32 is exact). Other dtypes (complex, strings)
/// are named in the error so the user knows what to convert.
/// </summary>
public static partial class NpyFormat
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>Reads a volume from a <c>.npy</c> file.</summary>
    public static IVolume Read(string path)
    {
        using var stream = File.OpenRead(path);
        return Read(stream, path);
    }

    /// <summary>Reads a volume from a stream; <paramref name="name"/> is used in error messages.</summary>
    public static IVolume Read(Stream stream, string name)
    {
        var header = ReadHeader(stream, name);
        var volume = ReadStored(stream, header, name);
        return header.Channels > 1 ? ColorImage.Luminance(volume, header.Channels, header.Shape, volume.VoxelSize) : volume;
    }

    // The data as stored: a colour stack's channels interleaved along x.
    private static IVolume ReadStored(Stream stream, NpyHeader header, string name)
    {
        var shape = Shape3.FromDimensions(header.Dimensions);
        IVolume volume = header.Kind switch
        {
            ElementKind.UInt8 => ReadData<byte>(stream, shape, header, name),
            ElementKind.UInt16 => ReadData<ushort>(stream, shape, header, name),
            ElementKind.Float32 => ReadData<float>(stream, shape, header, name),
            ElementKind.Int8 => ReadConverted<sbyte>(stream, shape, header, name),
            ElementKind.Int16 => ReadConverted<short>(stream, shape, header, name),
            ElementKind.Int32 => ReadConverted<int>(stream, shape, header, name),
            ElementKind.UInt32 => ReadConverted<uint>(stream, shape, header, name),
            ElementKind.Int64 => ReadConverted<long>(stream, shape, header, name),
            ElementKind.UInt64 => ReadConverted<ulong>(stream, shape, header, name),
            _ => ReadConverted<double>(stream, shape, header, name),
        };
        return volume;
    }

    /// <summary>Writes a volume as a C-ordered <c>.npy</c> (3D, or 2D when <paramref name="squeeze2D"/> and Z = 1).</summary>
    public static void Write(Stream stream, IVolume volume, bool squeeze2D = false)
    {
        ArgumentNullException.ThrowIfNull(volume);
        Write(stream, volume, (VolumeWriteOptions.Default with { SingleSliceRank = squeeze2D ? 2 : 3 }).DimensionsFor(volume.Shape), CancellationToken.None);
    }

    /// <summary>
    /// Writes a volume as a C-ordered <c>.npy</c> of shape <paramref name="dimensions"/> (its own voxels in scan order:
    /// (Z, Y, X), (Y, X) for one section, or with axes of length 1 added; <see cref="VolumeWriteOptions.DimensionsFor"/>),
    /// slice by slice so <paramref name="ct"/> can stop it.
    /// </summary>
    public static void Write(Stream stream, IVolume volume, IReadOnlyList<long> dimensions, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(volume);
        if (volume is not (Volume<byte> or Volume<ushort> or Volume<float> or Volume<int>))
        {
            throw new NotSupportedException($"Cannot write {volume.GetType().Name} as .npy.");
        }

        WriteHeader(stream, volume.Shape, volume.VoxelType, dimensions);
        switch (volume)
        {
            case Volume<byte> v: WriteSlices(stream, v, ct); break;
            case Volume<ushort> v: WriteSlices(stream, v, ct); break;
            case Volume<float> v: WriteSlices(stream, v, ct); break;
            case Volume<int> v: WriteSlices(stream, v, ct); break;
        }
    }

    /// <summary>
    /// Writes a volume handed out row by row (a block-wise result, never held whole) as a C-ordered <c>.npy</c>: the
    /// header of <see cref="Write(Stream, IVolume, IReadOnlyList{long}, CancellationToken)"/>, then the rows in scan
    /// order, one row in memory. Reads back equal to the in-memory writer's file.
    /// </summary>
    /// <param name="stream">Where the file's bytes go.</param>
    /// <param name="rows">The volume (uint8, uint16, float32 or int32).</param>
    /// <param name="dimensions">The stored shape (<see cref="VolumeWriteOptions.DimensionsFor"/>).</param>
    /// <param name="ct">Checked once per section.</param>
    public static void WriteRows<T>(Stream stream, IRowSource<T> rows, IReadOnlyList<long> dimensions, CancellationToken ct)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(rows);
        var shape = rows.Shape;
        WriteHeader(stream, shape, VoxelTypes.Of<T>(), dimensions);
        var row = new T[shape.X];
        for (int z = 0; z < shape.Z; z++)
        {
            ct.ThrowIfCancellationRequested();
            for (int y = 0; y < shape.Y; y++)
            {
                rows.CopyRow(z, y, row);
                stream.Write(MemoryMarshal.AsBytes(row.AsSpan()));
            }
        }
    }

    // Version 1.0, C order, padded to 64 bytes as numpy writes it.
    private static void WriteHeader(Stream stream, Shape3 shape, VoxelType type, IReadOnlyList<long> dimensions)
    {
        ArgumentNullException.ThrowIfNull(dimensions);
        if (dimensions.Aggregate(1L, (a, d) => a * d) != shape.Length || dimensions.Count < 2)
        {
            throw new ArgumentException($"Shape ({string.Join(", ", dimensions)}) does not hold a volume of {shape}.", nameof(dimensions));
        }

        string dims = string.Join(", ", dimensions);
        string descr = type switch
        {
            VoxelType.UInt8 => "|u1",
            VoxelType.UInt16 => "<u2",
            VoxelType.Int32 => "<i4",
            _ => "<f4",
        };
        string dict = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': ({dims}), }}";
        int unpadded = Magic.Length + 2 + 2 + dict.Length + 1;
        int padding = (64 - (unpadded % 64)) % 64;
        string text = dict + new string(' ', padding) + "\n";
        stream.Write(Magic);
        stream.Write([1, 0]);
        Span<byte> len = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(len, (ushort)text.Length);
        stream.Write(len);
        stream.Write(Encoding.ASCII.GetBytes(text));
    }

    /// <summary>
    /// Reads the block at <paramref name="offset"/> of <paramref name="size"/> voxels, seeking row by row in a
    /// C-ordered file so only the block is read; a Fortran-ordered file is read whole and cropped.
    /// </summary>
    public static IVolume ReadBlock(string path, (int Z, int Y, int X) offset, Shape3 size, CancellationToken ct = default)
    {
        using var stream = File.OpenRead(path);
        var header = ReadHeader(stream, path);
        BlockBounds.Check(header.Shape, offset, size);
        if (header.FortranOrder || header.BigEndian || !header.Kind.IsNative())
        {
            stream.Position = 0;
            return VolumeRegions.Crop(Read(stream, path), offset, size);
        }

        // A colour stack: the block's rows hold its pixels' channels side by side.
        int c = header.Channels;
        var stored = Shape3.FromDimensions(header.Dimensions);
        var (at, rows) = ((offset.Z, offset.Y, offset.X * c), new Shape3(size.Z, size.Y, size.X * c));
        IVolume block = header.Kind switch
        {
            ElementKind.UInt8 => ReadRows<byte>(stream, path, stored, at, rows, ct),
            ElementKind.UInt16 => ReadRows<ushort>(stream, path, stored, at, rows, ct),
            _ => ReadRows<float>(stream, path, stored, at, rows, ct),
        };
        return c > 1 ? ColorImage.Luminance(block, c, size, block.VoxelSize) : block;
    }

    /// <summary>The number of axes in a stream's header (2 for an image, 3 for a stack: a colour stack's channels do not count), without reading the data.</summary>
    public static int ReadRank(Stream stream, string name) => ReadHeader(stream, name).Dimensions.Length;

    /// <summary>The shape as stored in a stream's header (with any axes of length 1 beyond the spatial ones; a colour stack's channels last).</summary>
    public static long[] ReadStoredDimensions(Stream stream, string name)
    {
        var header = ReadHeader(stream, name);
        return header.Stored ?? (header.Channels > 1 ? [header.Shape.Z, header.Shape.Y, header.Shape.X, header.Channels] : header.Dimensions);
    }

    /// <summary>The shape read (as one z slice for 2D; a colour stack's sections), from a stream's header, without reading the data.</summary>
    public static Shape3 ReadShape(Stream stream, string name) => ReadHeader(stream, name).Shape;

    /// <summary>The channels of a colour stack (Z, Y, X, 3 or 4; read as its luminance), else 1, from a stream's header.</summary>
    public static int ReadChannels(Stream stream, string name) => ReadHeader(stream, name).Channels;

    private static void WriteSlices<T>(Stream stream, Volume<T> volume, CancellationToken ct)
        where T : unmanaged
    {
        for (int z = 0; z < volume.Shape.Z; z++)
        {
            ct.ThrowIfCancellationRequested();
            stream.Write(MemoryMarshal.AsBytes(volume.Slice(z)));
        }
    }

    private static Volume<T> ReadRows<T>(Stream stream, string name, Shape3 shape, (int Z, int Y, int X) offset, Shape3 size, CancellationToken ct)
        where T : unmanaged
    {
        long dataStart = stream.Position;
        int elementSize = Marshal.SizeOf<T>();
        if (stream.Length - dataStart < shape.Length * elementSize)
        {
            throw new VolumeFormatException($"{name}: truncated .npy file (expected {shape.Length * elementSize} data bytes, found {stream.Length - dataStart}).");
        }

        var block = new Volume<T>(size);
        for (int z = 0; z < size.Z; z++)
        {
            ct.ThrowIfCancellationRequested();
            for (int y = 0; y < size.Y; y++)
            {
                stream.Position = dataStart + (shape.Index(offset.Z + z, offset.Y + y, offset.X) * elementSize);
                stream.ReadExactly(MemoryMarshal.AsBytes(block.Row(z, y)));
            }
        }

        return block;
    }

    private static Volume<float> ReadConverted<T>(Stream stream, Shape3 shape, NpyHeader header, string name)
        where T : unmanaged, System.Numerics.INumberBase<T>
    {
        // Element-wise conversion keeps the file's order, so Fortran order is undone afterwards on the float32 copy.
        var raw = new T[shape.Length];
        var bytes = MemoryMarshal.AsBytes(raw.AsSpan());
        int read = stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
        if (read != bytes.Length)
        {
            throw new VolumeFormatException($"{name}: truncated .npy file (expected {bytes.Length} data bytes, found {read}).");
        }

        if (header.BigEndian)
        {
            ByteOrder.Swap(bytes, Marshal.SizeOf<T>());
        }

        var volume = new Volume<float>(shape);
        ElementKinds.ToFloat<T>(raw, volume.Span, header.Kind, name);
        return header.FortranOrder && header.Dimensions.Length > 1 ? FortranToC(volume, header.Dimensions) : volume;
    }

    /// <summary>True when the stream starts with the npy magic (cheap sniff, restores position).</summary>
    public static bool Sniff(Stream stream)
    {
        Span<byte> head = stackalloc byte[6];
        long position = stream.Position;
        int read = stream.ReadAtLeast(head, 6, throwOnEndOfStream: false);
        stream.Position = position;
        return read == 6 && head.SequenceEqual(Magic);
    }

    private static Volume<T> ReadData<T>(Stream stream, Shape3 shape, NpyHeader header, string name)
        where T : unmanaged
    {
        var volume = new Volume<T>(shape);
        var bytes = MemoryMarshal.AsBytes(volume.Span);
        int read = stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
        if (read != bytes.Length)
        {
            throw new VolumeFormatException($"{name}: truncated .npy file (expected {bytes.Length} data bytes, found {read}).");
        }

        if (header.BigEndian)
        {
            ByteOrder.Swap(bytes, Marshal.SizeOf<T>());
        }

        if (header.FortranOrder && header.Dimensions.Length > 1)
        {
            volume = FortranToC(volume, header.Dimensions);
        }

        return volume;
    }

    private static Volume<T> FortranToC<T>(Volume<T> source, long[] dims)
        where T : unmanaged
    {
        // In Fortran order the first axis varies fastest; index (a, b, c) lives at a + b*A + c*A*B.
        var shape = source.Shape;
        var result = new Volume<T>(shape);
        int z = shape.Z, y = shape.Y, x = shape.X;
        var src = source.Span;
        for (int k = 0; k < z; k++)
        {
            for (int j = 0; j < y; j++)
            {
                for (int i = 0; i < x; i++)
                {
                    long f = dims.Length == 3 ? k + ((long)j * z) + ((long)i * z * y) : j + ((long)i * y);
                    result[k, j, i] = src[(int)f];
                }
            }
        }

        return result;
    }

    private static NpyHeader ReadHeader(Stream stream, string name)
    {
        Span<byte> prefix = stackalloc byte[8];
        if (stream.ReadAtLeast(prefix, 8, throwOnEndOfStream: false) != 8 || !prefix[..6].SequenceEqual(Magic))
        {
            throw new VolumeFormatException($"{name}: not a .npy file (bad magic).");
        }

        int major = prefix[6];
        int headerLength;
        if (major == 1)
        {
            Span<byte> l = stackalloc byte[2];
            if (stream.ReadAtLeast(l, 2, throwOnEndOfStream: false) != 2)
            {
                throw new VolumeFormatException($"{name}: truncated .npy header.");
            }

            headerLength = BinaryPrimitives.ReadUInt16LittleEndian(l);
        }
        else if (major is 2 or 3)
        {
            Span<byte> l = stackalloc byte[4];
            if (stream.ReadAtLeast(l, 4, throwOnEndOfStream: false) != 4)
            {
                throw new VolumeFormatException($"{name}: truncated .npy header.");
            }

            uint length = BinaryPrimitives.ReadUInt32LittleEndian(l);
            headerLength = length <= 1 << 20 ? (int)length : throw new VolumeFormatException($"{name}: malformed .npy header length {length}.");
        }
        else
        {
            throw new VolumeFormatException($"{name}: unsupported .npy version {major}.");
        }

        var text = new byte[headerLength];
        if (stream.ReadAtLeast(text, headerLength, throwOnEndOfStream: false) != headerLength)
        {
            throw new VolumeFormatException($"{name}: truncated .npy header.");
        }

        string dict = Encoding.UTF8.GetString(text);
        var descr = DescrPattern().Match(dict);
        var fortran = FortranPattern().Match(dict);
        var shape = ShapePattern().Match(dict);
        if (!descr.Success || !fortran.Success || !shape.Success)
        {
            throw new VolumeFormatException($"{name}: malformed .npy header.");
        }

        string d = descr.Groups[1].Value;

        var (type, bigEndian) = ElementKinds.FromNumpy(d, name);
        var parts = shape.Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var dims = new long[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!long.TryParse(parts[i], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out dims[i]) || dims[i] > int.MaxValue)
            {
                throw new VolumeFormatException($"{name}: malformed .npy shape ({shape.Groups[1].Value}).");
            }
        }

        // A C-ordered colour stack (Z, Y, X, 3 or 4) is stored as (Z, Y, X · channels) and read as its luminance.
        bool fortranOrder = fortran.Groups[1].Value == "True";
        if (ColorImage.IsStack(dims) && !fortranOrder && dims.All(x => x > 0) && dims[2] * dims[3] <= int.MaxValue)
        {
            return new NpyHeader(type, false, [dims[0], dims[1], dims[2] * dims[3]], (int)dims[3]);
        }

        if (StoredAxes.Of(dims) is not { } axes)
        {
            throw new VolumeFormatException($"{name}: expected 2D or 3D, got {dims.Length}D shape ({string.Join(", ", dims)}).{StoredAxes.Hint(dims)}{ColorImage.StackHint(dims)}");
        }

        if (dims.Any(x => x == 0))
        {
            throw new VolumeFormatException($"{name}: shape ({string.Join(", ", dims)}) has a 0-length axis.");
        }

        return new NpyHeader(type, fortranOrder, axes.SpatialDimensions, Stored: dims, BigEndian: bigEndian);
    }

    [GeneratedRegex(@"'descr'\s*:\s*'([^']*)'")]
    private static partial Regex DescrPattern();

    [GeneratedRegex(@"'fortran_order'\s*:\s*(True|False)")]
    private static partial Regex FortranPattern();

    [GeneratedRegex(@"'shape'\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapePattern();

    // Dimensions as stored (a colour stack's channels interleaved along x); Shape as read.
    // Stored: the shape as the file has it (with its axes of length 1; null = Dimensions); BigEndian: bytes swapped on reading.
    private sealed record NpyHeader(ElementKind Kind, bool FortranOrder, long[] Dimensions, int Channels = 1, long[]? Stored = null, bool BigEndian = false)
    {
        public Shape3 Shape => Channels > 1
            ? new Shape3((int)Dimensions[0], (int)Dimensions[1], (int)(Dimensions[2] / Channels))
            : Shape3.FromDimensions(Dimensions);
    }
}

using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using EmMask.Core.Volumes;

namespace EmMask.IO.Formats;

/// <summary>
/// The MRC format of cryo-EM and volume EM (MRC2014; IMOD, SerialEM, EMPIAR): a 1024-byte header, an optional extended
/// header, then the voxels with x fastest, section by section. Read: modes 0 (int8, or uint8 where IMOD's stamp says
/// the bytes are unsigned), 1 (int16), 2 (float32), 6 (uint16) and 12 (float16), little- or big-endian (the machine
/// stamp), axis order (1, 2, 3) only; int8, int16 and float16 are converted to float32 exactly. The voxel size is the
/// cell size over the sampling (Å, stored as nm); a cell of 0 means unknown. Blocks are read by seeking row by row.
/// Written: uint8 as mode 0 with IMOD's stamp marking the bytes unsigned (a 0/1 mask reads the same everywhere), uint16
/// as mode 6, float32 as mode 2, little-endian; the header's minimum, maximum and mean are those of the data.
/// </summary>
internal static class MrcFormat
{
    /// <summary>File extensions read and written as MRC.</summary>
    public static readonly string[] Extensions = [".mrc", ".mrcs", ".rec", ".st", ".ali", ".map"];

    private const int HeaderBytes = 1024;

    // IMOD's stamp (word 39) and flags (word 40): with the stamp, flag bit 0 clear means mode 0 bytes are unsigned.
    private const int ImodStamp = 1146047817;

    /// <summary>Reads the whole volume (one section is a (1, Y, X) volume).</summary>
    public static IVolume Read(string path, CancellationToken ct)
    {
        using var stream = Open(path);
        var header = ReadHeader(stream, path);
        if (header.Shape.Length > Array.MaxLength)
        {
            throw new VolumeFormatException($"{path}: shape {header.Shape} ({header.Shape.Length} voxels) is too large to load at once; process it block-wise.");
        }

        return ReadRegion(stream, header, (0, 0, 0), header.Shape, ct);
    }

    /// <summary>Reads the block at <paramref name="offset"/> of <paramref name="size"/> voxels, seeking row by row.</summary>
    public static IVolume ReadBlock(string path, (int Z, int Y, int X) offset, Shape3 size, CancellationToken ct)
    {
        using var stream = Open(path);
        var header = ReadHeader(stream, path);
        BlockBounds.Check(header.Shape, offset, size);
        return ReadRegion(stream, header, offset, size, ct);
    }

    /// <summary>The shape, from the header alone.</summary>
    public static Shape3 ReadShape(string path)
    {
        using var stream = Open(path);
        return ReadHeader(stream, path).Shape;
    }

    /// <summary>Writes a uint8, uint16 or float32 volume.</summary>
    public static void Write(Stream stream, IVolume volume, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(volume);
        switch (volume)
        {
            case Volume<byte> v: WriteRows(stream, new VolumeRowSource<byte>(v), ct); break;
            case Volume<ushort> v: WriteRows(stream, new VolumeRowSource<ushort>(v), ct); break;
            case Volume<float> v: WriteRows(stream, new VolumeRowSource<float>(v), ct); break;
            default: throw new VolumeFormatException($"MRC holds uint8, uint16 or float32, not {volume.VoxelType}; write labels as .h5, .tif or .npy.");
        }
    }

    /// <summary>
    /// Writes a volume handed out row by row (never held whole): the header, then the rows; the header's statistics
    /// are filled in once the rows are written (the stream must be seekable).
    /// </summary>
    public static void WriteRows<T>(Stream stream, IRowSource<T> rows, CancellationToken ct)
        where T : unmanaged, System.Numerics.INumberBase<T>
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(rows);
        int mode = typeof(T) == typeof(byte) ? 0 : typeof(T) == typeof(ushort) ? 6 : typeof(T) == typeof(float) ? 2
            : throw new VolumeFormatException($"MRC holds uint8, uint16 or float32, not {typeof(T).Name}; write labels as .h5, .tif or .npy.");
        var shape = rows.Shape;
        long start = stream.Position;
        stream.Write(Header(shape, rows.VoxelSize, mode, (0, 0, 0)));
        var row = new T[shape.X];
        double min = double.PositiveInfinity, max = double.NegativeInfinity, sum = 0;
        for (int z = 0; z < shape.Z; z++)
        {
            ct.ThrowIfCancellationRequested();
            for (int y = 0; y < shape.Y; y++)
            {
                rows.CopyRow(z, y, row);
                stream.Write(MemoryMarshal.AsBytes(row.AsSpan()));
                foreach (var value in row)
                {
                    double v = double.CreateTruncating(value);
                    if (double.IsFinite(v))
                    {
                        min = Math.Min(min, v);
                        max = Math.Max(max, v);
                        sum += v;
                    }
                }
            }
        }

        long end = stream.Position;
        stream.Position = start;
        stream.Write(Header(shape, rows.VoxelSize, mode, max >= min ? (min, max, sum / shape.Length) : (0, -1, -2)));
        stream.Position = end;
    }

    private static FileStream Open(string path)
    {
        if (!File.Exists(path))
        {
            throw new VolumeFormatException(Directory.Exists(path) ? $"{path}: is a directory, not an MRC file." : $"{path}: file not found.");
        }

        return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
    }

    private static byte[] Header(Shape3 shape, VoxelSize voxelSize, int mode, (double Min, double Max, double Mean) stats)
    {
        var h = new byte[HeaderBytes];
        void I(int at, int v) => BinaryPrimitives.WriteInt32LittleEndian(h.AsSpan(at), v);
        void F(int at, float v) => BinaryPrimitives.WriteSingleLittleEndian(h.AsSpan(at), v);
        I(0, shape.X);
        I(4, shape.Y);
        I(8, shape.Z);
        I(12, mode);
        I(28, shape.X);
        I(32, shape.Y);
        I(36, shape.Z);
        bool known = voxelSize != VoxelSize.Isotropic;
        F(40, known ? (float)(shape.X * voxelSize.X * 10) : 0); // Å
        F(44, known ? (float)(shape.Y * voxelSize.Y * 10) : 0);
        F(48, known ? (float)(shape.Z * voxelSize.Z * 10) : 0);
        F(52, 90);
        F(56, 90);
        F(60, 90);
        I(64, 1);
        I(68, 2);
        I(72, 3);
        F(76, (float)stats.Min);
        F(80, (float)stats.Max);
        F(84, (float)stats.Mean);
        I(88, shape.Z > 1 ? 1 : 0); // ISPG: 1 a volume, 0 an image
        I(108, 20140); // NVERSION
        if (mode == 0)
        {
            I(152, ImodStamp); // IMOD flags (156) 0: the bytes are unsigned
        }

        Encoding.ASCII.GetBytes("MAP ").CopyTo(h, 208);
        h[212] = 0x44; // little-endian machine stamp
        h[213] = 0x44;
        F(216, -1); // RMS unknown
        I(220, 1);
        Encoding.ASCII.GetBytes("EM Mask".PadRight(80)).CopyTo(h, 224);
        return h;
    }

    private static MrcHeader ReadHeader(Stream stream, string name)
    {
        var h = new byte[HeaderBytes];
        if (stream.ReadAtLeast(h, HeaderBytes, throwOnEndOfStream: false) != HeaderBytes)
        {
            throw new VolumeFormatException($"{name}: not an MRC file (shorter than the 1024-byte header).");
        }

        // The machine stamp says the byte order (0x44 0x44 little, 0x11 0x11 big); old files without one are
        // little-endian where the mode reads as one of the known modes that way, else big-endian.
        bool big = h[212] == 0x11 || (h[212] != 0x44 && BinaryPrimitives.ReadInt32LittleEndian(h.AsSpan(12)) is not (0 or 1 or 2 or 6 or 12));
        int I(int at) => big ? BinaryPrimitives.ReadInt32BigEndian(h.AsSpan(at)) : BinaryPrimitives.ReadInt32LittleEndian(h.AsSpan(at));
        float F(int at) => big ? BinaryPrimitives.ReadSingleBigEndian(h.AsSpan(at)) : BinaryPrimitives.ReadSingleLittleEndian(h.AsSpan(at));

        int nx = I(0), ny = I(4), nz = I(8), mode = I(12);
        if (nx < 0 || ny < 0 || nz < 0)
        {
            throw new VolumeFormatException($"{name}: not an MRC file (header shape {nx} × {ny} × {nz}).");
        }

        if (nx == 0 || ny == 0 || nz == 0)
        {
            throw new VolumeFormatException($"{name}: shape ({nz}, {ny}, {nx}) has a 0-length axis.");
        }

        var (kind, elementSize, description) = mode switch
        {
            0 => I(152) == ImodStamp && (I(156) & 1) == 0 ? (ElementKind.UInt8, 1, "uint8") : (ElementKind.Int8, 1, "int8"),
            1 => (ElementKind.Int16, 2, "int16"),
            2 => (ElementKind.Float32, 4, "float32"),
            6 => (ElementKind.UInt16, 2, "uint16"),
            12 => (ElementKind.Float32, 2, "float16"),
            3 or 4 => throw new VolumeFormatException($"{name}: MRC mode {mode} holds complex numbers (a Fourier transform), not an image."),
            101 => throw new VolumeFormatException($"{name}: MRC mode 101 (4-bit) is not supported; convert it to 8 bits (IMOD: newstack -mode 0)."),
            _ => throw new VolumeFormatException($"{name}: MRC mode {mode} is not supported (modes 0, 1, 2, 6 and 12 are)."),
        };
        int mapc = I(64), mapr = I(68), maps = I(72);
        if (!(mapc, mapr, maps).Equals((1, 2, 3)) && !(mapc, mapr, maps).Equals((0, 0, 0)))
        {
            throw new VolumeFormatException($"{name}: MRC axis order ({mapc}, {mapr}, {maps}) is not supported; store x fastest, then y, then sections (1, 2, 3).");
        }

        int extended = I(92);
        if (extended < 0)
        {
            throw new VolumeFormatException($"{name}: not an MRC file (extended header of {extended} bytes).");
        }

        var shape = new Shape3(nz, ny, nx);
        long dataOffset = HeaderBytes + (long)extended;
        long needed = dataOffset + (shape.Length * elementSize);
        if (stream.Length < needed)
        {
            throw new VolumeFormatException($"{name}: truncated MRC file (expected {needed} bytes for {description} ({nz}, {ny}, {nx}), found {stream.Length}).");
        }

        // The voxel size: cell (Å) over sampling, per axis, in nm; unknown where the cell or the sampling is not set.
        double Spacing(int cellAt, int samplesAt)
        {
            double cell = F(cellAt);
            int samples = I(samplesAt);
            return samples > 0 && cell > 0 && double.IsFinite(cell) ? cell / samples / 10 : double.NaN;
        }

        double sx = Spacing(40, 28), sy = Spacing(44, 32), sz = Spacing(48, 36);
        VoxelSize? voxelSize = double.IsNaN(sx) || double.IsNaN(sy) ? null
            : double.IsNaN(sz) || nz == 1 ? new VoxelSize(1, sy, sx)
            : new VoxelSize(sz, sy, sx);
        return new MrcHeader(shape, kind, mode, elementSize, dataOffset, big, voxelSize);
    }

    private static IVolume ReadRegion(Stream stream, MrcHeader header, (int Z, int Y, int X) offset, Shape3 size, CancellationToken ct)
    {
        IVolume volume = header.Kind switch
        {
            ElementKind.UInt8 => new Volume<byte>(size),
            ElementKind.UInt16 => new Volume<ushort>(size),
            _ => new Volume<float>(size),
        };
        // Full-width regions read each section's rows in one go; narrower ones seek row by row.
        bool fullWidth = size.X == header.Shape.X;
        int rowBytes = size.X * header.ElementSize;
        var raw = new byte[fullWidth ? (long)rowBytes * size.Y : rowBytes];
        for (int z = 0; z < size.Z; z++)
        {
            ct.ThrowIfCancellationRequested();
            for (int y = 0; y < size.Y; y += fullWidth ? size.Y : 1)
            {
                long at = header.DataOffset + ((((long)(offset.Z + z) * header.Shape.Y) + offset.Y + y) * header.Shape.X + offset.X) * header.ElementSize;
                if (stream.Position != at)
                {
                    stream.Position = at;
                }

                stream.ReadExactly(raw);
                if (header.BigEndian)
                {
                    ByteOrder.Swap(raw, header.ElementSize);
                }

                for (int row = 0; row * rowBytes < raw.Length; row++)
                {
                    Decode(raw.AsSpan(row * rowBytes, rowBytes), header, volume, z, y + row);
                }
            }
        }

        if (header.VoxelSize is { } s)
        {
            volume.SetVoxelSize(s);
        }

        return volume;
    }

    private static void Decode(ReadOnlySpan<byte> raw, MrcHeader header, IVolume volume, int z, int y)
    {
        switch (volume)
        {
            case Volume<byte> v:
                raw.CopyTo(v.Row(z, y));
                break;
            case Volume<ushort> v:
                MemoryMarshal.Cast<byte, ushort>(raw).CopyTo(v.Row(z, y));
                break;
            case Volume<float> v:
                if (header.Mode == 12)
                {
                    var halves = MemoryMarshal.Cast<byte, Half>(raw);
                    var row = v.Row(z, y);
                    for (int i = 0; i < row.Length; i++)
                    {
                        row[i] = (float)halves[i];
                    }
                }
                else
                {
                    ElementKinds.ToFloat(raw, v.Row(z, y), header.Kind, "MRC");
                }

                break;
        }
    }

    private sealed record MrcHeader(Shape3 Shape, ElementKind Kind, int Mode, int ElementSize, long DataOffset, bool BigEndian, VoxelSize? VoxelSize);
}

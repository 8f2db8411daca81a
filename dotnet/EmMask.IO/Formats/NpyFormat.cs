using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using EmMask.Core.Volumes;

namespace EmMask.IO.Formats;

/// <summary>
/// Reads and writes numpy's <c>.npy</c> format (versions 1–3) for 2D/3D little-endian uint8, uint16 and float32 arrays
/// in C or Fortran order. Other numpy dtypes are named in the error so the user knows what to convert.
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
        var shape = Shape3.FromDimensions(header.Dimensions);
        IVolume volume = header.Type switch
        {
            VoxelType.UInt8 => ReadData<byte>(stream, shape, header, name),
            VoxelType.UInt16 => ReadData<ushort>(stream, shape, header, name),
            _ => ReadData<float>(stream, shape, header, name),
        };
        return volume;
    }

    /// <summary>Writes a volume as a C-ordered <c>.npy</c> (3D, or 2D when <paramref name="squeeze2D"/> and Z = 1).</summary>
    public static void Write(Stream stream, IVolume volume, bool squeeze2D = false)
    {
        var shape = volume.Shape;
        string dims = squeeze2D && shape.Z == 1 ? $"{shape.Y}, {shape.X}" : $"{shape.Z}, {shape.Y}, {shape.X}";
        string descr = volume.VoxelType switch
        {
            VoxelType.UInt8 => "|u1",
            VoxelType.UInt16 => "<u2",
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
        switch (volume)
        {
            case Volume<byte> v: stream.Write(v.Span); break;
            case Volume<ushort> v: stream.Write(MemoryMarshal.AsBytes(v.Span)); break;
            case Volume<float> v: stream.Write(MemoryMarshal.AsBytes(v.Span)); break;
            default: throw new NotSupportedException($"Cannot write {volume.GetType().Name} as .npy.");
        }
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
            stream.ReadExactly(l);
            headerLength = BinaryPrimitives.ReadUInt16LittleEndian(l);
        }
        else if (major is 2 or 3)
        {
            Span<byte> l = stackalloc byte[4];
            stream.ReadExactly(l);
            headerLength = checked((int)BinaryPrimitives.ReadUInt32LittleEndian(l));
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
        VoxelType type = d switch
        {
            "|u1" or "<u1" or "u1" => VoxelType.UInt8,
            "<u2" => VoxelType.UInt16,
            "<f4" => VoxelType.Float32,
            _ => throw new VolumeFormatException($"{name}: dtype '{d}' is not supported; convert to uint8, uint16 or float32."),
        };
        long[] dims = shape.Groups[1].Value
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(long.Parse)
            .ToArray();
        if (dims.Length is < 2 or > 3)
        {
            throw new VolumeFormatException($"{name}: expected a 2D or 3D array, got {dims.Length}D with shape ({string.Join(", ", dims)}).");
        }

        return new NpyHeader(type, fortran.Groups[1].Value == "True", dims);
    }

    [GeneratedRegex(@"'descr'\s*:\s*'([^']*)'")]
    private static partial Regex DescrPattern();

    [GeneratedRegex(@"'fortran_order'\s*:\s*(True|False)")]
    private static partial Regex FortranPattern();

    [GeneratedRegex(@"'shape'\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapePattern();

    private sealed record NpyHeader(VoxelType Type, bool FortranOrder, long[] Dimensions);
}

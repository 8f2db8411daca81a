using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace EmMask.IO.Formats;

/// <summary>
/// Minimal PNG encoder for 8-bit grayscale and RGB images (quick looks, demo output). Rows are stored unfiltered
/// and zlib-compressed; the CRC-32 is computed here because System.IO.Hashing is not referenced.
/// </summary>
public static class PngWriter
{
    private static readonly uint[] CrcTable = BuildCrcTable();

    /// <summary>Writes an 8-bit grayscale image; <paramref name="pixels"/> holds height rows of width bytes.</summary>
    public static void WriteGray(Stream stream, ReadOnlySpan<byte> pixels, int width, int height) =>
        Write(stream, pixels, width, height, channels: 1, colorType: 0);

    /// <summary>Writes an 8-bit RGB image; <paramref name="rgb"/> holds height rows of width × (r, g, b) bytes.</summary>
    public static void WriteRgb(Stream stream, ReadOnlySpan<byte> rgb, int width, int height) =>
        Write(stream, rgb, width, height, channels: 3, colorType: 2);

    /// <summary>Writes an 8-bit grayscale image to a file.</summary>
    public static void WriteGray(string path, ReadOnlySpan<byte> pixels, int width, int height)
    {
        using var stream = File.Create(path);
        WriteGray(stream, pixels, width, height);
    }

    /// <summary>Writes an 8-bit RGB image to a file.</summary>
    public static void WriteRgb(string path, ReadOnlySpan<byte> rgb, int width, int height)
    {
        using var stream = File.Create(path);
        WriteRgb(stream, rgb, width, height);
    }

    private static void Write(Stream stream, ReadOnlySpan<byte> pixels, int width, int height, int channels, byte colorType)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        long rowBytes = (long)width * channels;
        if (pixels.Length != rowBytes * height)
        {
            throw new ArgumentException($"Expected {rowBytes * height} bytes for a {width}×{height} image with {channels} channel(s), got {pixels.Length}.", nameof(pixels));
        }

        stream.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);

        Span<byte> header = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header[4..], height);
        header[8] = 8; // bit depth
        header[9] = colorType;
        header[10] = 0; // deflate
        header[11] = 0; // adaptive filtering (we use filter 0 on every row)
        header[12] = 0; // no interlace
        WriteChunk(stream, "IHDR", header);

        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            for (int y = 0; y < height; y++)
            {
                zlib.WriteByte(0);
                zlib.Write(pixels.Slice((int)(y * rowBytes), (int)rowBytes));
            }
        }

        WriteChunk(stream, "IDAT", compressed.GetBuffer().AsSpan(0, (int)compressed.Length));
        WriteChunk(stream, "IEND", []);
    }

    private static void WriteChunk(Stream stream, string type, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        stream.Write(word);
        Span<byte> typeBytes = stackalloc byte[4];
        Encoding.ASCII.GetBytes(type, typeBytes);
        stream.Write(typeBytes);
        stream.Write(data);
        uint crc = Crc32(Crc32(0xFFFFFFFFu, typeBytes), data) ^ 0xFFFFFFFFu;
        BinaryPrimitives.WriteUInt32BigEndian(word, crc);
        stream.Write(word);
    }

    /// <summary>CRC-32 (IEEE 802.3, as PNG requires) update without the final inversion.</summary>
    internal static uint Crc32(uint crc, ReadOnlySpan<byte> data)
    {
        foreach (byte b in data)
        {
            crc = CrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }

        return crc;
    }

    private static uint[] BuildCrcTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            }

            table[n] = c;
        }

        return table;
    }
}

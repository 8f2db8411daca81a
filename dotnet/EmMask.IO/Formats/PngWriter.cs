using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace EmMask.IO.Formats;

/// <summary>Writes 8-bit grayscale or RGB PNG images (for montages and quick looks); no external dependency.</summary>
public static class PngWriter
{
    private static readonly uint[] CrcTable = BuildCrcTable();

    /// <summary>Writes a grayscale image; <paramref name="pixels"/> is row-major, width·height bytes.</summary>
    public static void WriteGray(string path, int width, int height, ReadOnlySpan<byte> pixels) => Write(path, width, height, pixels, 1);

    /// <summary>Writes an RGB image; <paramref name="pixels"/> is row-major, 3·width·height bytes.</summary>
    public static void WriteRgb(string path, int width, int height, ReadOnlySpan<byte> pixels) => Write(path, width, height, pixels, 3);

    private static void Write(string path, int width, int height, ReadOnlySpan<byte> pixels, int channels)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        if (pixels.Length != (long)width * height * channels)
        {
            throw new ArgumentException($"Expected {width * height * channels} bytes, got {pixels.Length}.", nameof(pixels));
        }

        using var raw = new MemoryStream();
        using (var z = new ZLibStream(raw, CompressionLevel.Fastest, leaveOpen: true))
        {
            int stride = width * channels;
            for (int y = 0; y < height; y++)
            {
                z.WriteByte(0); // filter: none
                z.Write(pixels.Slice(y * stride, stride));
            }
        }

        string temp = path + ".tmp-" + Guid.NewGuid().ToString("N");
        try
        {
            using (var file = File.Create(temp))
            {
                file.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
                var header = new byte[13];
                BinaryPrimitives.WriteInt32BigEndian(header, width);
                BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
                header[8] = 8; // bit depth
                header[9] = channels == 1 ? (byte)0 : (byte)2; // gray or truecolour
                Chunk(file, "IHDR", header);
                Chunk(file, "IDAT", raw.ToArray());
                Chunk(file, "IEND", []);
            }

            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    private static void Chunk(Stream stream, string type, ReadOnlySpan<byte> data)
    {
        Span<byte> buffer = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(buffer, data.Length);
        stream.Write(buffer);
        var typeBytes = Encoding.ASCII.GetBytes(type);
        stream.Write(typeBytes);
        stream.Write(data);
        uint crc = Update(0xFFFFFFFFu, typeBytes);
        crc = Update(crc, data) ^ 0xFFFFFFFFu;
        BinaryPrimitives.WriteUInt32BigEndian(buffer, crc);
        stream.Write(buffer);
    }

    private static uint Update(uint crc, ReadOnlySpan<byte> data)
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

using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using EmMask.IO.Formats;

namespace EmMask.IO.Tests.Formats;

public class PngWriterTests
{
    [Fact]
    public void ReferenceCrcUsedByTheseTestsMatchesTheStandardCheckValue()
    {
        // The CRC-32/ISO-HDLC check value of "123456789".
        uint crc = PngWriterCrc("123456789"u8);
        Assert.Equal(0xCBF43926u, crc);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(7, 3)]
    [InlineData(64, 33)]
    public void GrayImageRoundTripsThroughTheChunks(int width, int height)
    {
        var pixels = new byte[width * height];
        for (int i = 0; i < pixels.Length; i++)
        {
            pixels[i] = (byte)((i * 37) + 11);
        }

        using var stream = new MemoryStream();
        PngWriter.WriteGray(stream, pixels, width, height);
        var (ihdr, data) = Decode(stream.ToArray());
        Assert.Equal(width, BinaryPrimitives.ReadInt32BigEndian(ihdr));
        Assert.Equal(height, BinaryPrimitives.ReadInt32BigEndian(ihdr.AsSpan(4)));
        Assert.Equal(8, ihdr[8]);
        Assert.Equal(0, ihdr[9]);
        Assert.Equal(Unfiltered(pixels, width, height, 1), data);
    }

    [Fact]
    public void RgbImageHasColourTypeTwoAndThreeBytesPerPixel()
    {
        var rgb = Enumerable.Range(0, 5 * 4 * 3).Select(i => (byte)i).ToArray();
        using var stream = new MemoryStream();
        PngWriter.WriteRgb(stream, rgb, 5, 4);
        var (ihdr, data) = Decode(stream.ToArray());
        Assert.Equal(2, ihdr[9]);
        Assert.Equal(Unfiltered(rgb, 5, 4, 3), data);
    }

    [Fact]
    public void WrongBufferLengthThrows()
    {
        using var stream = new MemoryStream();
        Assert.Throws<ArgumentException>(() => PngWriter.WriteGray(stream, new byte[10], 4, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => PngWriter.WriteRgb(stream, [], 0, 4));
    }

    private static uint PngWriterCrc(ReadOnlySpan<byte> data)
    {
        // Same polynomial as PNG; computed independently here so the test can fail if the table is wrong.
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
            }
        }

        return crc ^ 0xFFFFFFFF;
    }

    private static byte[] Unfiltered(byte[] pixels, int width, int height, int channels)
    {
        var rows = new List<byte>();
        for (int y = 0; y < height; y++)
        {
            rows.Add(0);
            rows.AddRange(pixels.AsSpan(y * width * channels, width * channels).ToArray());
        }

        return [.. rows];
    }

    /// <summary>Checks signature, chunk order and every CRC; returns IHDR and the inflated image data.</summary>
    private static (byte[] Ihdr, byte[] Data) Decode(byte[] png)
    {
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, png[..8]);
        int p = 8;
        var types = new List<string>();
        byte[] ihdr = [];
        using var idat = new MemoryStream();
        while (p < png.Length)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(p));
            string type = Encoding.ASCII.GetString(png, p + 4, 4);
            var body = png.AsSpan(p + 8, length).ToArray();
            uint crc = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(p + 8 + length));
            Assert.Equal(PngWriterCrc(png.AsSpan(p + 4, 4 + length)), crc);
            types.Add(type);
            if (type == "IHDR") { ihdr = body; }
            if (type == "IDAT") { idat.Write(body); }
            p += 12 + length;
        }

        Assert.Equal(["IHDR", "IDAT", "IEND"], types);
        idat.Position = 0;
        using var zlib = new ZLibStream(idat, CompressionMode.Decompress);
        using var inflated = new MemoryStream();
        zlib.CopyTo(inflated);
        return (ihdr, inflated.ToArray());
    }
}

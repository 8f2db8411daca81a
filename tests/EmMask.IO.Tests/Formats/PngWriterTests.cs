using EmMask.IO.Formats;

namespace EmMask.IO.Tests.Formats;

/// <summary>PNG encoding: what is written reads back exactly, through Pillow (independent of SkiaSharp) and through the volume reader.</summary>
public class PngWriterTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(7, 3)]
    [InlineData(64, 33)]
    public void GreyImagesReadBackExactly(int width, int height)
    {
        using var dir = new TempDir();
        var pixels = new byte[width * height];
        for (int i = 0; i < pixels.Length; i++)
        {
            pixels[i] = (byte)((i * 37) + 11);
        }

        string file = dir.File("g.png");
        PngWriter.WriteGray(file, pixels, width, height);
        var read = (EmMask.Core.Volumes.Volume<byte>)VolumeReader.Read(VolumePath.Parse(file, "/raw"));
        Assert.Equal(new EmMask.Core.Volumes.Shape3(1, height, width), read.Shape);
        Assert.Equal(pixels, read.Span.ToArray());
        if (Python.HasPillow)
        {
            Assert.Equal($"L {Checksum(pixels)}", Python.Run(PillowChecksum, file));
        }
    }

    [Fact]
    public void RgbImagesReadBackExactly()
    {
        using var dir = new TempDir();
        var rgb = new byte[5 * 4 * 3];
        for (int i = 0; i < rgb.Length; i++)
        {
            rgb[i] = (byte)(i * 13);
        }

        string file = dir.File("c.png");
        PngWriter.WriteRgb(file, rgb, 5, 4);
        var read = (EmMask.Core.Volumes.Volume<byte>)VolumeReader.Read(VolumePath.Parse(file, "/raw"));
        Assert.Equal(new EmMask.Core.Volumes.Shape3(4, 5, 3), read.Shape);
        Assert.Equal(rgb, read.Span.ToArray());
        if (Python.HasPillow)
        {
            Assert.Equal($"RGB {Checksum(rgb)}", Python.Run(PillowChecksum, file));
        }
    }

    [Fact]
    public void WrongBufferLengthThrows()
    {
        using var stream = new MemoryStream();
        Assert.Throws<ArgumentException>(() => PngWriter.WriteGray(stream, new byte[10], 4, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => PngWriter.WriteRgb(stream, [], 0, 4));
        Assert.Equal(0, stream.Length);
    }

    private const string PillowChecksum = "import sys, numpy as np; from PIL import Image; i = Image.open(sys.argv[1]); a = np.asarray(i).ravel().astype(np.int64); print(i.mode, int((a * (np.arange(a.size) % 1009 + 1)).sum()))";

    private static long Checksum(byte[] values)
    {
        long sum = 0;
        for (int i = 0; i < values.Length; i++)
        {
            sum += values[i] * (long)((i % 1009) + 1);
        }

        return sum;
    }
}

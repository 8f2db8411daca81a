using System.Runtime.InteropServices;
using SkiaSharp;

namespace EmMask.IO.Formats;

/// <summary>PNG encoding of 8-bit grey and RGB images (masks, quick looks, demo output), by SkiaSharp.</summary>
public static class PngWriter
{
    /// <summary>Writes an 8-bit grayscale image; <paramref name="pixels"/> holds height rows of width bytes.</summary>
    public static void WriteGray(Stream stream, ReadOnlySpan<byte> pixels, int width, int height) =>
        Write(stream, pixels, width, height, channels: 1);

    /// <summary>Writes an 8-bit RGB image; <paramref name="rgb"/> holds height rows of width × (r, g, b) bytes.</summary>
    public static void WriteRgb(Stream stream, ReadOnlySpan<byte> rgb, int width, int height) =>
        Write(stream, rgb, width, height, channels: 3);

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

    private static void Write(Stream stream, ReadOnlySpan<byte> pixels, int width, int height, int channels)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        long rowBytes = (long)width * channels;
        if (pixels.Length != rowBytes * height)
        {
            throw new ArgumentException($"Expected {rowBytes * height} bytes for a {width}×{height} image with {channels} channel(s), got {pixels.Length}.", nameof(pixels));
        }

        // Skia holds RGB as RGBx (4 bytes a pixel); grey as one byte.
        var info = new SKImageInfo(width, height, channels == 1 ? SKColorType.Gray8 : SKColorType.Rgb888x, SKAlphaType.Opaque);
        using var bitmap = new SKBitmap(info);
        var row = new byte[bitmap.RowBytes];
        var target = bitmap.GetPixels();
        for (int y = 0; y < height; y++)
        {
            var source = pixels.Slice((int)(y * rowBytes), (int)rowBytes);
            if (channels == 1)
            {
                source.CopyTo(row);
            }
            else
            {
                for (int x = 0; x < width; x++)
                {
                    row[4 * x] = source[3 * x];
                    row[(4 * x) + 1] = source[(3 * x) + 1];
                    row[(4 * x) + 2] = source[(3 * x) + 2];
                    row[(4 * x) + 3] = 255;
                }
            }

            Marshal.Copy(row, 0, target + (y * bitmap.RowBytes), row.Length);
        }

        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100) ?? throw new IOException("The PNG encoder failed.");
        data.SaveTo(stream);
    }
}

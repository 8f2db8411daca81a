using System.Buffers.Binary;
using System.IO.Compression;
using EmMask.Core.Volumes;

namespace EmMask.IO.Formats;

/// <summary>
/// 16-bit grey PNG (colour type 0, or 4 with its alpha dropped), which SkiaSharp decodes only to 8 bits: the IDAT stream
/// inflated with the BCL's <see cref="ZLibStream"/> and unfiltered per row (PNG's five filters). Interlaced files are
/// refused with a clear error.
/// </summary>
internal static class GreyPng16
{
    /// <summary>The image as one uint16 section.</summary>
    /// <exception cref="VolumeFormatException">Interlaced, truncated or corrupt.</exception>
    public static Volume<ushort> Read(string file, int width, int height)
    {
        byte[] bytes = File.ReadAllBytes(file);
        int channels = bytes[25] == 4 ? 2 : 1;
        if (bytes[28] != 0)
        {
            throw new VolumeFormatException($"{file}: an interlaced 16-bit PNG is not supported; save it without interlacing, or as TIFF.");
        }

        using var idat = new MemoryStream();
        for (int at = 8; at + 8 <= bytes.Length;)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(at));
            if (length < 0 || at + 12L + length > bytes.Length)
            {
                throw new VolumeFormatException($"{file}: the image is truncated (a chunk runs past the end of the file).");
            }

            var type = bytes.AsSpan(at + 4, 4);
            if (type.SequenceEqual("IDAT"u8))
            {
                idat.Write(bytes, at + 8, length);
            }
            else if (type.SequenceEqual("IEND"u8))
            {
                break;
            }

            at += 12 + length;
        }

        int stride = width * channels * 2;
        var raw = new byte[(long)(stride + 1) * height];
        idat.Position = 0;
        using (var inflate = new ZLibStream(idat, CompressionMode.Decompress))
        {
            try
            {
                if (inflate.ReadAtLeast(raw, raw.Length, throwOnEndOfStream: false) < raw.Length)
                {
                    throw new VolumeFormatException($"{file}: the image is truncated (its data ends before its last row).");
                }
            }
            catch (InvalidDataException e)
            {
                throw new VolumeFormatException($"{file}: the image data is corrupt ({e.Message}).");
            }
        }

        Unfilter(file, raw, stride, height, bytesPerPixel: channels * 2);
        var volume = new Volume<ushort>(new Shape3(1, height, width));
        var o = volume.Span;
        for (int y = 0; y < height; y++)
        {
            var row = raw.AsSpan((y * (stride + 1)) + 1, stride);
            for (int x = 0; x < width; x++)
            {
                o[(y * width) + x] = BinaryPrimitives.ReadUInt16BigEndian(row[(x * channels * 2)..]);
            }
        }

        return volume;
    }

    // PNG filters (None, Sub, Up, Average, Paeth), undone in place; each row starts with its filter byte.
    private static void Unfilter(string file, byte[] raw, int stride, int height, int bytesPerPixel)
    {
        for (int y = 0; y < height; y++)
        {
            int start = (y * (stride + 1)) + 1;
            byte filter = raw[start - 1];
            int previous = start - (stride + 1);
            for (int i = 0; i < stride; i++)
            {
                int a = i >= bytesPerPixel ? raw[start + i - bytesPerPixel] : 0;
                int b = y > 0 ? raw[previous + i] : 0;
                int c = y > 0 && i >= bytesPerPixel ? raw[previous + i - bytesPerPixel] : 0;
                int add = filter switch
                {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => (a + b) / 2,
                    4 => Paeth(a, b, c),
                    _ => throw new VolumeFormatException($"{file}: the image data is corrupt (row {y} has filter type {filter})."),
                };
                raw[start + i] = (byte)(raw[start + i] + add);
            }
        }
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c;
        int pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
}

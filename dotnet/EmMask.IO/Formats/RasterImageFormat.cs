using EmMask.Core.Volumes;
using SkiaSharp;

namespace EmMask.IO.Formats;

/// <summary>
/// Single 2D raster images: PNG, JPEG and BMP (section overviews, thumbnails, exported tiles), decoded by SkiaSharp.
/// A grey image (8-bit, or 16-bit PNG; also a colour file whose pixels are all grey, as BMP palettes store grey) becomes
/// one section, uint8 or uint16 (rank 2); a colour image becomes an (H, W, 3) uint8 array (rank 3), which the callers
/// mask on its luminance as they do a colour TIFF (<see cref="ColorImage"/>). Alpha is dropped. Only a one-section uint8 volume can be written (PNG, lossless; 0/1 mask
/// values as they are); JPEG and BMP are input only: a lossy or uncompressed copy of a mask is no use.
/// </summary>
internal static class RasterImageFormat
{
    /// <summary>The file extensions read (lower case, with the dot).</summary>
    public static readonly string[] Extensions = [".png", ".jpg", ".jpeg", ".bmp"];

    /// <summary>
    /// The shape <see cref="Read"/> returns and its rank, from the header for a grey file (a colour file is decoded to
    /// tell a grey image stored in colour, as BMP palettes store grey, from a colour one).
    /// </summary>
    public static (Shape3 Shape, int Rank) Describe(string file)
    {
        // Callers ask for the shape and the rank of one input several times; a colour file is decoded only once.
        var stamp = File.Exists(file) ? (Path.GetFullPath(file), new FileInfo(file).Length, File.GetLastWriteTimeUtc(file)) : default;
        lock (Described)
        {
            if (stamp != default && Described.Key == stamp)
            {
                return Described.Value;
            }
        }

        var described = DescribeUncached(file);
        lock (Described)
        {
            Described.Key = stamp;
            Described.Value = described;
        }

        return described;
    }

    private static readonly LastDescribed Described = new();

    private sealed class LastDescribed
    {
        public (string Path, long Length, DateTime Modified) Key;
        public (Shape3 Shape, int Rank) Value;
    }

    private static (Shape3 Shape, int Rank) DescribeUncached(string file)
    {
        using var codec = Open(file);
        var info = codec.Info;
        if (IsGrey(codec) || IsSixteenBitGreyPng(file) || AllGrey(Decode(codec, file, SKColorType.Rgba8888), (long)info.Width * info.Height))
        {
            return (new Shape3(1, info.Height, info.Width), 2);
        }

        return (new Shape3(info.Height, info.Width, 3), 3);
    }

    /// <summary>Decodes the whole image (see the class remarks for the layout).</summary>
    /// <exception cref="VolumeFormatException">Missing, truncated or undecodable file.</exception>
    public static IVolume Read(string file, CancellationToken ct)
    {
        using var codec = Open(file);
        ct.ThrowIfCancellationRequested();
        var info = codec.Info;
        long pixels = (long)info.Width * info.Height;
        if (pixels * 4 > Array.MaxLength)
        {
            throw new VolumeFormatException($"{file}: {info.Width} × {info.Height} pixels is too large to decode at once; convert it to a tiled format (HDF5).");
        }

        if (IsSixteenBitGreyPng(file))
        {
            return GreyPng16.Read(file, info.Width, info.Height);
        }

        if (IsGrey(codec))
        {
            var grey = Decode(codec, file, SKColorType.Gray8);
            var volume = new Volume<byte>(new Shape3(1, info.Height, info.Width));
            grey.AsSpan(0, volume.Span.Length).CopyTo(volume.Span);
            return volume;
        }

        var rgba = Decode(codec, file, SKColorType.Rgba8888);
        if (AllGrey(rgba, pixels))
        {
            // A grey palette (as BMP writers store grey) or a colour file holding a grey image: one section.
            var palette = new Volume<byte>(new Shape3(1, info.Height, info.Width));
            var p = palette.Span;
            for (int i = 0; i < p.Length; i++)
            {
                p[i] = rgba[4 * i];
            }

            return palette;
        }

        var rgb = new Volume<byte>(new Shape3(info.Height, info.Width, 3));
        var o = rgb.Span;
        for (long i = 0; i < pixels; i++)
        {
            o[(int)(3 * i)] = rgba[4 * i];
            o[(int)((3 * i) + 1)] = rgba[(4 * i) + 1];
            o[(int)((3 * i) + 2)] = rgba[(4 * i) + 2];
        }

        return rgb;
    }

    /// <summary>Checks that a volume of <paramref name="shape"/> and <paramref name="type"/> can be written to <paramref name="file"/>.</summary>
    /// <exception cref="VolumeFormatException">Not one uint8 section, or a JPEG / BMP target.</exception>
    public static void CheckWritable(string file, Shape3 shape, VoxelType type)
    {
        string ext = Path.GetExtension(file).ToLowerInvariant();
        if (ext != ".png")
        {
            throw new VolumeFormatException($"{file}: {ext} is read only; write .png (lossless), .tif, .npy or .h5.");
        }

        if (type != VoxelType.UInt8 || shape.Z != 1)
        {
            throw new VolumeFormatException($"{file}: a PNG holds one 8-bit section, not {shape.Z} section(s) of {type.ToString().ToLowerInvariant()}; write .tif, .npy or .h5.");
        }
    }

    /// <summary>Encodes a one-section uint8 volume as a grey PNG (<see cref="CheckWritable"/> first; <see cref="PngWriter"/>).</summary>
    public static void WritePng(string file, Stream stream, IVolume volume)
    {
        CheckWritable(file, volume.Shape, volume.VoxelType);
        var bytes = (Volume<byte>)volume;
        PngWriter.WriteGray(stream, bytes.Span, bytes.Shape.X, bytes.Shape.Y);
    }

    // PNG's header: the 8-byte signature, then IHDR (length, type, width, height, bit depth at byte 24, colour type at 25:
    // 0 grey, 4 grey with alpha). Skia reports such a file as 8-bit grey and would round it on decoding.
    private static bool IsSixteenBitGreyPng(string file)
    {
        Span<byte> header = stackalloc byte[26];
        using var stream = File.OpenRead(file);
        return stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false) == header.Length
            && header[..8].SequenceEqual((ReadOnlySpan<byte>)[137, 80, 78, 71, 13, 10, 26, 10])
            && header[24] == 16 && header[25] is 0 or 4;
    }

    private static bool AllGrey(byte[] rgba, long pixels)
    {
        for (long i = 0; i < pixels; i++)
        {
            byte r = rgba[4 * i];
            if (rgba[(4 * i) + 1] != r || rgba[(4 * i) + 2] != r)
            {
                return false;
            }
        }

        return true;
    }

    private static SKCodec Open(string file)
    {
        if (!File.Exists(file))
        {
            throw new VolumeFormatException($"{file}: file not found.");
        }

        var codec = SKCodec.Create(file, out var result);
        if (codec is null)
        {
            throw new VolumeFormatException($"{file}: not a readable PNG, JPEG or BMP image ({result}).");
        }

        return codec;
    }

    // Grey when the decoder's natural colour type is grey (grey PNG, JPEG and BMP).
    private static bool IsGrey(SKCodec codec) => codec.Info.ColorType is SKColorType.Gray8;

    private static byte[] Decode(SKCodec codec, string file, SKColorType type)
    {
        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, type, SKAlphaType.Unpremul);
        var result = codec.GetPixels(info, out byte[] pixels);
        return result switch
        {
            SKCodecResult.Success => pixels,
            SKCodecResult.IncompleteInput => throw new VolumeFormatException($"{file}: the image is truncated (its data ends before its last row)."),
            _ => throw new VolumeFormatException($"{file}: the image could not be decoded ({result})."),
        };
    }
}

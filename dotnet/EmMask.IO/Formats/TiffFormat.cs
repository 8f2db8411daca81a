using System.Runtime.InteropServices;
using BitMiracle.LibTiff.Classic;
using EmMask.Core.Volumes;

namespace EmMask.IO.Formats;

/// <summary>
/// Multi-page grayscale TIFF through LibTiff.NET: one page per z slice, stripped or tiled, any codec LibTiff decodes.
/// uint8, uint16 and float32 pages are read as-is; int8/16/32, uint32 and float64 pages are converted to float32
/// under the same rules as HDF5 (<see cref="ElementKinds.ToFloat{T}"/>). Text attributes and the voxel size travel
/// as a JSON object in the first page's ImageDescription. Written pages are uncompressed (fastest, universally read),
/// as BigTIFF when the data passes 3.5 GiB.
/// </summary>
internal static class TiffFormat
{
    private const long BigTiffThreshold = 3_500_000_000;

    static TiffFormat()
    {
        // LibTiff reports problems through a global handler that prints to the console by default; capture them
        // so they become part of one VolumeFormatException instead.
        Tiff.SetErrorHandler(new CapturingHandler());
    }

    public static IVolume Read(string file, CancellationToken ct)
    {
        using var tif = Open(file);
        var voxelSize = ReadVoxelSize(tif);
        var page = Page.Describe(tif, file, 0);
        int pages = Guard(file, tif.NumberOfDirectories);
        if (page.Colour)
        {
            return pages > 1 ? ReadColourPages(tif, file, page, 0, pages, voxelSize, ct) : ReadColour(tif, file, page, voxelSize);
        }

        return ReadSlab(tif, file, page, 0, pages, voxelSize, ct);
    }

    /// <summary>
    /// Reads the block of <paramref name="size"/> voxels at <paramref name="offset"/>: only the pages it spans are decoded
    /// (each whole, then cropped in y and x), so a block-wise run or <c>--sections</c> never holds the whole stack. A colour
    /// image (one page read as H × W × 3) is read whole and cropped.
    /// </summary>
    public static IVolume ReadBlock(string file, (int Z, int Y, int X) offset, Shape3 size, CancellationToken ct)
    {
        using var tif = Open(file);
        var voxelSize = ReadVoxelSize(tif);
        var page = Page.Describe(tif, file, 0);
        int pages = Guard(file, tif.NumberOfDirectories);
        if (page.Colour && pages == 1)
        {
            var whole = ReadColour(tif, file, page, voxelSize);
            BlockBounds.Check(whole.Shape, offset, size);
            return VolumeRegions.Crop(whole, offset, size);
        }

        if (page.Colour)
        {
            BlockBounds.Check(new Shape3(pages, page.Height, page.Width), offset, size);
            var sections = ReadColourPages(tif, file, page, offset.Z, size.Z, voxelSize, ct);
            return size.Y == page.Height && size.X == page.Width ? sections : VolumeRegions.Crop(sections, (0, offset.Y, offset.X), size);
        }

        BlockBounds.Check(new Shape3(pages, page.Height, page.Width), offset, size);
        var slab = ReadSlab(tif, file, page, offset.Z, size.Z, voxelSize, ct);
        return size.Y == page.Height && size.X == page.Width ? slab : VolumeRegions.Crop(slab, (0, offset.Y, offset.X), size);
    }

    // Pages first .. first + count - 1, whole, in the element type they are read as.
    private static IVolume ReadSlab(Tiff tif, string file, Page page, int first, int count, VoxelSize? voxelSize, CancellationToken ct)
    {
        var shape = new Shape3(count, page.Height, page.Width);
        if (shape.Length > Array.MaxLength)
        {
            throw new VolumeFormatException($"{file}: {shape} ({shape.Length} voxels) is too large to load at once.");
        }

        var volume = page.Kind switch
        {
            ElementKind.UInt8 => ReadPages<byte, byte>(tif, file, page, shape, first, ct),
            ElementKind.UInt16 => ReadPages<ushort, ushort>(tif, file, page, shape, first, ct),
            ElementKind.Float32 => ReadPages<float, float>(tif, file, page, shape, first, ct),
            ElementKind.Int8 => ReadPages<sbyte, float>(tif, file, page, shape, first, ct),
            ElementKind.Int16 => ReadPages<short, float>(tif, file, page, shape, first, ct),
            ElementKind.Int32 => ReadPages<int, float>(tif, file, page, shape, first, ct),
            ElementKind.UInt32 => ReadPages<uint, float>(tif, file, page, shape, first, ct),
            _ => (IVolume)ReadPages<double, float>(tif, file, page, shape, first, ct),
        };
        if (voxelSize is { } size)
        {
            volume.SetVoxelSize(size);
        }

        return volume;
    }

    /// <summary>The shape read: a one-page colour image as (H, W, 3), a colour stack as its sections (read as their luminance).</summary>
    public static Shape3 ReadShape(string file)
    {
        using var tif = Open(file);
        var page = Page.Describe(tif, file, 0);
        int pages = Guard(file, tif.NumberOfDirectories);
        return page.Colour && pages == 1 ? new Shape3(page.Height, page.Width, ColourChannels) : new Shape3(pages, page.Height, page.Width);
    }

    /// <summary>True for a colour TIFF of several pages (a colour stack, read as the luminance of each page).</summary>
    public static bool IsColourStack(string file)
    {
        using var tif = Open(file);
        return Page.Describe(tif, file, 0).Colour && Guard(file, tif.NumberOfDirectories) > 1;
    }

    /// <summary>Channels of a colour page as read: R, G, B (alpha dropped).</summary>
    private const int ColourChannels = 3;

    // A colour image (RGB, RGBA, palette or YCbCr, 8 bits per sample) of one page is read as an (H, W, 3) uint8 array,
    // as a colour .npy is, so the reader's callers treat both alike (ColorImage: masked on its luminance).
    private static Volume<byte> ReadColour(Tiff tif, string file, Page page, VoxelSize? voxelSize)
    {
        var volume = new Volume<byte>(new Shape3(page.Height, page.Width, ColourChannels));
        ReadColourPage(tif, file, page, 0, volume.Span);
        if (voxelSize is { } size)
        {
            volume.SetVoxelSize(new VoxelSize(size.Y, size.X, 1));
        }

        return volume;
    }

    // Pages first .. first + count − 1 of a colour stack, each as its luminance (ColorImage), float32.
    private static Volume<float> ReadColourPages(Tiff tif, string file, Page page, int first, int count, VoxelSize? voxelSize, CancellationToken ct)
    {
        var shape = new Shape3(count, page.Height, page.Width);
        if (shape.Length > Array.MaxLength)
        {
            throw new VolumeFormatException($"{file}: {shape} ({shape.Length} voxels) is too large to load at once.");
        }

        var volume = new Volume<float>(shape, voxelSize ?? VoxelSize.Isotropic);
        var rgb = new Volume<byte>(new Shape3(1, page.Height, page.Width * ColourChannels));
        for (int z = 0; z < count; z++)
        {
            ct.ThrowIfCancellationRequested();
            int at = first + z;
            if (!Guard(file, () => tif.SetDirectory((short)at)))
            {
                throw new VolumeFormatException($"{file}: page {at} cannot be read ({CapturingHandler.LastOr("bad directory")}).");
            }

            var other = Page.Describe(tif, file, at);
            if (other.Width != page.Width || other.Height != page.Height || !other.Colour)
            {
                throw new VolumeFormatException($"{file}: page {first + z} is {other.Width}x{other.Height}{(other.Colour ? " colour" : " grey")}, page 0 is {page.Width}x{page.Height} colour; all pages must match.");
            }

            ReadColourPage(tif, file, other, at, rgb.Span);
            ColorImage.Luminance(rgb, ColourChannels, new Shape3(1, page.Height, page.Width), VoxelSize.Isotropic).Span.CopyTo(volume.Slice(z));
        }

        return volume;
    }

    // The current colour page's (z) R, G, B, interleaved, into rgb (Height · Width · 3 values).
    private static void ReadColourPage(Tiff tif, string file, Page page, int z, Span<byte> rgb)
    {
        if ((long)page.Width * page.Height * ColourChannels > Array.MaxLength)
        {
            throw new VolumeFormatException($"{file}: a {page.Height}x{page.Width} colour image is too large to load at once.");
        }

        var raster = new int[page.Width * page.Height];
        CapturingHandler.Clear();
        if (!Guard(file, () => tif.ReadRGBAImageOriented(page.Width, page.Height, raster, Orientation.TOPLEFT, false)))
        {
            throw new VolumeFormatException($"{file}: the colour image{(z > 0 ? $" of page {z}" : string.Empty)} cannot be decoded ({CapturingHandler.LastOr("unsupported or corrupt")}).");
        }

        for (int i = 0; i < raster.Length; i++)
        {
            int abgr = raster[i];
            rgb[(i * ColourChannels) + 0] = (byte)Tiff.GetR(abgr);
            rgb[(i * ColourChannels) + 1] = (byte)Tiff.GetG(abgr);
            rgb[(i * ColourChannels) + 2] = (byte)Tiff.GetB(abgr);
        }
    }

    public static Dictionary<string, string> ReadAttributes(string file)
    {
        using var tif = Open(file);
        return VolumeMetadata.FromJson(Field(tif, TiffTag.IMAGEDESCRIPTION)?[0].ToString()).Attributes;
    }

    public static void Write(Stream stream, IVolume volume, IReadOnlyDictionary<string, string> attributes, CancellationToken ct)
    {
        switch (volume)
        {
            case Volume<byte> v: WritePages<byte>(stream, v.Shape, v.VoxelSize, (z, y, row) => v.Row(z, y).CopyTo(row), attributes, ct); break;
            case Volume<ushort> v: WritePages<ushort>(stream, v.Shape, v.VoxelSize, (z, y, row) => v.Row(z, y).CopyTo(row), attributes, ct); break;
            case Volume<float> v: WritePages<float>(stream, v.Shape, v.VoxelSize, (z, y, row) => v.Row(z, y).CopyTo(row), attributes, ct); break;
            case Volume<int> v: WritePages<int>(stream, v.Shape, v.VoxelSize, (z, y, row) => v.Row(z, y).CopyTo(row), attributes, ct); break;
            default: throw new ArgumentException($"Cannot write {volume.GetType().Name} as TIFF.", nameof(volume));
        }
    }

    /// <summary>
    /// Writes a volume handed out row by row (a block-wise result, never held whole) as <see cref="Write"/> does: the
    /// same pages, tags and description, each page written as its section's rows arrive, one strip in memory.
    /// </summary>
    public static void WriteRows<T>(Stream stream, IRowSource<T> rows, IReadOnlyDictionary<string, string> attributes, CancellationToken ct)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(rows);
        WritePages<T>(stream, rows.Shape, rows.VoxelSize, rows.CopyRow, attributes, ct);
    }

    private static Tiff Open(string file)
    {
        if (!File.Exists(file))
        {
            throw new VolumeFormatException(Directory.Exists(file) ? $"{file}: is a directory, not a TIFF file." : $"{file}: file not found.");
        }

        using (var probe = File.OpenRead(file))
        {
            Span<byte> head = stackalloc byte[4];
            int n = probe.ReadAtLeast(head, 4, throwOnEndOfStream: false);
            bool magic = n == 4 && ((head[0] == 'I' && head[1] == 'I' && head[3] == 0 && head[2] is 42 or 43)
                || (head[0] == 'M' && head[1] == 'M' && head[2] == 0 && head[3] is 42 or 43));
            if (!magic)
            {
                throw new VolumeFormatException($"{file}: not a TIFF file (no TIFF header).");
            }
        }

        CapturingHandler.Clear();
        Tiff? tif;
        try
        {
            tif = Tiff.Open(file, "r");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw new VolumeFormatException($"{file}: corrupt TIFF file ({AtomicFile.OneLine(ex.Message)}).", ex);
        }

        return tif ?? throw new VolumeFormatException($"{file}: corrupt TIFF file ({CapturingHandler.LastOr("LibTiff could not open it")}).");
    }

    private static FieldValue[]? Field(Tiff tif, TiffTag tag) => tif.GetField(tag);

    /// <summary>
    /// The voxel size in nm from our JSON description, else from an ImageJ description (<c>spacing=</c> for z,
    /// <c>unit=</c>) with the X/YResolution tags (pixels per unit), as Fiji saves EM stacks; else null.
    /// </summary>
    private static VoxelSize? ReadVoxelSize(Tiff tif)
    {
        string? description = Field(tif, TiffTag.IMAGEDESCRIPTION)?[0].ToString();
        if (VolumeMetadata.FromJson(description).VoxelSize is { } fromJson)
        {
            return fromJson;
        }

        if (description is null || !description.StartsWith("ImageJ=", StringComparison.Ordinal))
        {
            return null;
        }

        var entries = description.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.Split('=', 2))
            .Where(kv => kv.Length == 2)
            .GroupBy(kv => kv[0])
            .ToDictionary(g => g.Key, g => g.First()[1]);
        double scale = entries.GetValueOrDefault("unit") switch
        {
            "micron" or "um" or "\u00B5m" or "microns" or "\\u00B5m" => 1000,
            "nm" or "nanometer" or "nanometers" => 1,
            "mm" => 1_000_000,
            _ => double.NaN,
        };
        double xRes = Field(tif, TiffTag.XRESOLUTION)?[0].ToDouble() ?? 0;
        double yRes = Field(tif, TiffTag.YRESOLUTION)?[0].ToDouble() ?? 0;
        if (double.IsNaN(scale) || !(xRes > 0) || !(yRes > 0))
        {
            return null;
        }

        double z = entries.TryGetValue("spacing", out var s)
            && double.TryParse(s, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double spacing) && spacing > 0
            ? spacing * scale
            : 1;
        return new VoxelSize(z, scale / yRes, scale / xRes);
    }

    // Pages firstPage .. firstPage + shape.Z - 1 into a volume of shape (page 0 is the current directory on entry).
    private static Volume<TOut> ReadPages<TIn, TOut>(Tiff tif, string file, Page first, Shape3 shape, int firstPage, CancellationToken ct)
        where TIn : unmanaged, System.Numerics.INumberBase<TIn>
        where TOut : unmanaged
    {
        var volume = new Volume<TOut>(shape);
        int sliceBytes = shape.SliceLength * Marshal.SizeOf<TIn>();
        var raw = new byte[sliceBytes];
        for (int k = 0; k < shape.Z; k++)
        {
            ct.ThrowIfCancellationRequested();
            int z = firstPage + k;
            if (z > 0)
            {
                if (!Guard(file, () => tif.SetDirectory((short)z)))
                {
                    throw new VolumeFormatException($"{file}: page {z} cannot be read ({CapturingHandler.LastOr("bad directory")}).");
                }

                var page = Page.Describe(tif, file, z);
                if (page.Width != first.Width || page.Height != first.Height || page.Kind != first.Kind || page.Colour)
                {
                    throw new VolumeFormatException(
                        $"{file}: page {z} is {page.Width}x{page.Height} {page.Kind.NumpyName()}{(page.Colour ? " colour" : string.Empty)}, page 0 is {first.Width}x{first.Height} {first.Kind.NumpyName()}; all pages must match.");
                }
            }

            Guard(file, () =>
            {
                DecodePage(tif, file, z, first, raw);
                return 0;
            });
            var source = MemoryMarshal.Cast<byte, TIn>(raw.AsSpan());
            if (typeof(TIn) == typeof(TOut))
            {
                MemoryMarshal.Cast<TIn, TOut>(source).CopyTo(volume.Slice(k));
            }
            else
            {
                ElementKinds.ToFloat<TIn>(source, MemoryMarshal.Cast<TOut, float>(volume.Slice(k)), first.Kind, $"{file} page {z}");
            }
        }

        return volume;
    }

    /// <summary>Decodes one page into <paramref name="raw"/> (rows of Width samples, native byte order).</summary>
    private static void DecodePage(Tiff tif, string file, int z, Page page, byte[] raw)
    {
        int bytesPerSample = page.BitsPerSample / 8;
        int rowBytes = page.Width * bytesPerSample;
        CapturingHandler.Clear();
        if (!tif.IsTiled())
        {
            int strips = tif.NumberOfStrips();
            int offset = 0;
            var buffer = new byte[tif.StripSize()];
            for (int s = 0; s < strips && offset < raw.Length; s++)
            {
                int n = tif.ReadEncodedStrip(s, buffer, 0, -1);
                if (n < 0)
                {
                    throw new VolumeFormatException($"{file}: page {z}, strip {s} cannot be decoded ({CapturingHandler.LastOr("truncated or corrupt")}).");
                }

                int take = Math.Min(n, raw.Length - offset);
                Buffer.BlockCopy(buffer, 0, raw, offset, take);
                offset += take;
            }

            if (offset < raw.Length)
            {
                throw new VolumeFormatException($"{file}: page {z} holds {offset} of {raw.Length} data bytes (truncated).");
            }

            return;
        }

        int tileWidth = tif.GetField(TiffTag.TILEWIDTH)[0].ToInt();
        int tileHeight = tif.GetField(TiffTag.TILELENGTH)[0].ToInt();
        var tile = new byte[tif.TileSize()];
        int tileRowBytes = tileWidth * bytesPerSample;
        for (int y0 = 0; y0 < page.Height; y0 += tileHeight)
        {
            for (int x0 = 0; x0 < page.Width; x0 += tileWidth)
            {
                if (tif.ReadTile(tile, 0, x0, y0, 0, 0) < 0)
                {
                    throw new VolumeFormatException($"{file}: page {z}, tile at ({y0}, {x0}) cannot be decoded ({CapturingHandler.LastOr("truncated or corrupt")}).");
                }

                int rows = Math.Min(tileHeight, page.Height - y0);
                int bytes = Math.Min(tileWidth, page.Width - x0) * bytesPerSample;
                for (int r = 0; r < rows; r++)
                {
                    Buffer.BlockCopy(tile, r * tileRowBytes, raw, ((y0 + r) * rowBytes) + (x0 * bytesPerSample), bytes);
                }
            }
        }
    }

    private delegate void RowCopy<T>(int z, int y, Span<T> destination);

    // One page per section, filled strip by strip from copyRow in scan order.
    private static void WritePages<T>(Stream stream, Shape3 shape, VoxelSize voxelSize, RowCopy<T> copyRow, IReadOnlyDictionary<string, string> attributes, CancellationToken ct)
        where T : unmanaged
    {
        var (bits, format) = VoxelTypes.Of<T>() switch
        {
            VoxelType.UInt8 => (8, SampleFormat.UINT),
            VoxelType.UInt16 => (16, SampleFormat.UINT),
            VoxelType.Float32 => (32, SampleFormat.IEEEFP),
            _ => (32, SampleFormat.INT),
        };
        int bytesPerSample = bits / 8;
        long total = shape.Length * bytesPerSample;
        int rowBytes = shape.X * bytesPerSample;

        // About 1 MiB strips: small enough for readers that load a strip at a time, few enough to keep the IFD small.
        int rowsPerStrip = Math.Clamp((1 << 20) / Math.Max(1, rowBytes), 1, shape.Y);
        string description = VolumeMetadata.ToJson(attributes, voxelSize, shape.Z == 1);
        CapturingHandler.Clear();
        using var tif = Tiff.ClientOpen("volume", total > BigTiffThreshold ? "w8" : "w", new KeepOpenStream(stream), new TiffStream())
            ?? throw new IOException($"LibTiff could not start the file ({CapturingHandler.LastOr("unknown error")}).");
        var strip = new byte[rowsPerStrip * rowBytes];
        for (int z = 0; z < shape.Z; z++)
        {
            ct.ThrowIfCancellationRequested();
            tif.SetField(TiffTag.SUBFILETYPE, FileType.PAGE);
            tif.SetField(TiffTag.IMAGEWIDTH, shape.X);
            tif.SetField(TiffTag.IMAGELENGTH, shape.Y);
            tif.SetField(TiffTag.BITSPERSAMPLE, bits);
            tif.SetField(TiffTag.SAMPLESPERPIXEL, 1);
            tif.SetField(TiffTag.SAMPLEFORMAT, format);
            tif.SetField(TiffTag.PHOTOMETRIC, Photometric.MINISBLACK);
            tif.SetField(TiffTag.PLANARCONFIG, PlanarConfig.CONTIG);
            tif.SetField(TiffTag.COMPRESSION, Compression.NONE);
            tif.SetField(TiffTag.ROWSPERSTRIP, rowsPerStrip);
            tif.SetField(TiffTag.PAGENUMBER, z, shape.Z);
            if (z == 0 && description != "{}")
            {
                tif.SetField(TiffTag.IMAGEDESCRIPTION, description);
            }

            for (int s = 0, y = 0; y < shape.Y; s++, y += rowsPerStrip)
            {
                int rows = Math.Min(rowsPerStrip, shape.Y - y);
                for (int r = 0; r < rows; r++)
                {
                    copyRow(z, y + r, MemoryMarshal.Cast<byte, T>(strip.AsSpan(r * rowBytes, rowBytes)));
                }

                if (tif.WriteEncodedStrip(s, strip, rows * rowBytes) < 0)
                {
                    throw new IOException($"LibTiff failed to write page {z} ({CapturingHandler.LastOr("unknown error")}).");
                }
            }

            if (!tif.WriteDirectory())
            {
                throw new IOException($"LibTiff failed to finish page {z} ({CapturingHandler.LastOr("unknown error")}).");
            }
        }
    }

    private static T Guard<T>(string file, Func<T> action)
    {
        try
        {
            return action();
        }
        catch (Exception ex) when (ex is not (VolumeFormatException or OperationCanceledException or OutOfMemoryException))
        {
            throw new VolumeFormatException($"{file}: corrupt TIFF data ({AtomicFile.OneLine(ex.Message)}).", ex);
        }
    }

    /// <summary>The layout of one page, checked to be a single-sample image of a supported type.</summary>
    private sealed record Page(int Width, int Height, int BitsPerSample, ElementKind Kind, bool Colour = false)
    {
        public static Page Describe(Tiff tif, string file, int z)
        {
            int width = tif.GetField(TiffTag.IMAGEWIDTH)?[0].ToInt() ?? 0;
            int height = tif.GetField(TiffTag.IMAGELENGTH)?[0].ToInt() ?? 0;
            int bits = tif.GetFieldDefaulted(TiffTag.BITSPERSAMPLE)?[0].ToInt() ?? 1;
            int samples = tif.GetFieldDefaulted(TiffTag.SAMPLESPERPIXEL)?[0].ToInt() ?? 1;
            var format = (SampleFormat)(tif.GetFieldDefaulted(TiffTag.SAMPLEFORMAT)?[0].ToInt() ?? 1);
            string where = $"{file} page {z}";
            if (width <= 0 || height <= 0)
            {
                throw new VolumeFormatException($"{where}: has a 0-length axis ({height}x{width}).");
            }

            var photometric = (Photometric)(tif.GetFieldDefaulted(TiffTag.PHOTOMETRIC)?[0].ToInt() ?? (int)Photometric.MINISBLACK);
            bool colour = bits == 8 && format == SampleFormat.UINT
                && ((samples is 3 or 4 && photometric is Photometric.RGB or Photometric.YCBCR) || (samples == 1 && photometric == Photometric.PALETTE));
            if (colour)
            {
                return new Page(width, height, bits, ElementKind.UInt8, Colour: true);
            }

            if (samples != 1)
            {
                throw new VolumeFormatException($"{where}: has {samples} samples per pixel (multi-channel, {bits}-bit); expected a greyscale image, or an 8-bit RGB one.");
            }

            var kind = (format, bits) switch
            {
                (SampleFormat.UINT, 8 or 16 or 32) => ElementKinds.FromInteger(bits / 8, false, where),
                (SampleFormat.INT, 8 or 16 or 32) => ElementKinds.FromInteger(bits / 8, true, where),
                (SampleFormat.IEEEFP, 32) => ElementKind.Float32,
                (SampleFormat.IEEEFP, 64) => ElementKind.Float64,
                (SampleFormat.COMPLEXINT or SampleFormat.COMPLEXIEEEFP, _) => throw new VolumeFormatException($"{where}: complex samples are not supported."),
                _ => throw new VolumeFormatException($"{where}: {bits}-bit {format} samples are not supported; use uint8, uint16 or float32."),
            };
            return new Page(width, height, bits, kind);
        }
    }

    private sealed class CapturingHandler : TiffErrorHandler
    {
        [ThreadStatic]
        private static string? last;

        public static void Clear() => last = null;

        public static string LastOr(string fallback) => last is null ? fallback : AtomicFile.OneLine(last);

        public override void ErrorHandler(Tiff tif, string method, string format, params object[] args) => last = Format(method, format, args);

        public override void ErrorHandlerExt(Tiff tif, object clientData, string method, string format, params object[] args) => last = Format(method, format, args);

        public override void WarningHandler(Tiff tif, string method, string format, params object[] args)
        {
            // Unknown private tags (ImageJ, tifffile) raise warnings; they do not affect the pixels.
        }

        public override void WarningHandlerExt(Tiff tif, object clientData, string method, string format, params object[] args)
        {
        }

        private static string Format(string method, string format, object[] args)
        {
            try
            {
                return $"{method}: {string.Format(System.Globalization.CultureInfo.InvariantCulture, format, args)}";
            }
            catch (FormatException)
            {
                return $"{method}: {format}";
            }
        }
    }
}

using System.Text.RegularExpressions;
using EmMask.Core.Volumes;

namespace EmMask.IO.Formats;

/// <summary>
/// A stack stored as one file per section, as serial-section pipelines and Fiji's "Image Sequence" export it: a folder
/// (every <c>.tif</c>, <c>.tiff</c>, <c>.png</c>, <c>.jpg</c>, <c>.jpeg</c> and <c>.bmp</c> in it) or a wildcard pattern
/// in the file name (<c>sections/s_*.png</c>). Files are taken in natural order (<c>s2</c> before <c>s10</c>). Every file
/// must hold one grey section of the first one's shape and type; the voxel size is the first file's (a block's, its
/// first file's: the block-wise runs take the stack's from the first file). Written (a mask,
/// one file per section) only through a pattern with one <c>*</c> (<see cref="OutputFiles"/>).
/// </summary>
internal static partial class SectionSequence
{
    private static readonly string[] Extensions = [".tif", ".tiff", .. RasterImageFormat.Extensions];

    /// <summary>True when <paramref name="text"/> names a sequence: an existing folder, or a file name with * or ?.</summary>
    public static bool Names(string text) =>
        Directory.Exists(text) || Path.GetFileName(text).AsSpan().IndexOfAny('*', '?') >= 0;

    /// <summary>The section files, in natural order.</summary>
    /// <exception cref="VolumeFormatException">No folder, or no section file in it or matching the pattern.</exception>
    public static IReadOnlyList<string> Files(string text)
    {
        string folder, pattern;
        if (Directory.Exists(text))
        {
            (folder, pattern) = (text, "*");
        }
        else
        {
            folder = Path.GetDirectoryName(text) is { Length: > 0 } d ? d : ".";
            pattern = Path.GetFileName(text);
            if (folder.AsSpan().IndexOfAny('*', '?') >= 0)
            {
                throw new VolumeFormatException($"{text}: a wildcard may only be in the file name, not in the folder.");
            }

            if (!Directory.Exists(folder))
            {
                throw new VolumeFormatException($"{text}: folder {folder} not found.");
            }
        }

        var files = Directory.EnumerateFiles(folder, pattern)
            .Where(f => Extensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
            .Order(NaturalOrder.Instance)
            .ToList();
        if (files.Count == 0)
        {
            throw new VolumeFormatException($"{text}: no section files (.tif, .png, .jpg, .bmp) found.");
        }

        return files;
    }

    /// <summary>
    /// The files a stack of <paramref name="sections"/> sections is written to: the pattern's one <c>*</c> replaced by the
    /// section's index, zero-padded to at least 4 digits (so natural and plain order agree and the files read back as
    /// the same stack).
    /// </summary>
    /// <exception cref="VolumeFormatException">Not a pattern with exactly one <c>*</c> (and no <c>?</c>) in the file name, or an extension that cannot hold a section.</exception>
    public static IReadOnlyList<string> OutputFiles(string pattern, int sections)
    {
        string name = Path.GetFileName(pattern);
        string ext = Path.GetExtension(name).ToLowerInvariant();
        if (name.Count(c => c == '*') != 1 || name.Contains('?', StringComparison.Ordinal))
        {
            throw new VolumeFormatException($"{pattern}: to write one file per section give a pattern with one * for the section's number (masks/m_*.png or masks/m_*.tif).");
        }

        if (ext is not (".png" or ".tif" or ".tiff"))
        {
            throw new VolumeFormatException($"{pattern}: sections are written as .png or .tif, not '{ext}'.");
        }

        int width = Math.Max(4, (sections - 1).ToString(System.Globalization.CultureInfo.InvariantCulture).Length);
        string folder = Path.GetDirectoryName(pattern) ?? string.Empty;
        return Enumerable.Range(0, sections)
            .Select(z => Path.Combine(folder, name.Replace("*", z.ToString(System.Globalization.CultureInfo.InvariantCulture).PadLeft(width, '0'), StringComparison.Ordinal)))
            .ToList();
    }

    /// <summary>The stack's shape from its first file's header and the number of files.</summary>
    public static Shape3 ReadShape(string text)
    {
        var files = Files(text);
        var first = SectionShape(files[0]);
        return new Shape3(files.Count, first.Y, first.X);
    }

    /// <summary>All sections, stacked.</summary>
    /// <exception cref="VolumeFormatException">A file is unreadable, not one grey section, or differs from the first in shape or type.</exception>
    public static IVolume Read(string text, CancellationToken ct)
    {
        var files = Files(text);
        return Stack(text, files, 0, files.Count, null, ct);
    }

    /// <summary>
    /// The block of <paramref name="size"/> at <paramref name="offset"/>: only its own section files are decoded; the
    /// first file's header gives the stack's shape, which the block's sections must have (so a block-wise run decodes
    /// each file once and lists the folder once a block).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The block is empty or leaves the stack.</exception>
    /// <exception cref="VolumeFormatException">A file is unreadable, not one grey section, or differs from the first in shape or type.</exception>
    public static IVolume ReadBlock(string text, (int Z, int Y, int X) offset, Shape3 size, CancellationToken ct)
    {
        var files = Files(text);
        var first = SectionShape(files[0]);
        BlockBounds.Check(new Shape3(files.Count, first.Y, first.X), offset, size);
        var sections = Stack(text, files, offset.Z, size.Z, first, ct);
        return VolumeRegions.Crop(sections, (0, offset.Y, offset.X), size);
    }

    // Sections z0 to z0 + count − 1 stacked; the first of them is the reference for type and voxel size, and for the
    // shape unless the first file's (from its header) is given.
    private static IVolume Stack(string text, IReadOnlyList<string> files, int z0, int count, Shape3? firstShape, CancellationToken ct)
    {
        var first = ReadSection(files[z0], ct);
        if (firstShape is { } shape0 && shape0 != first.Shape)
        {
            throw new VolumeFormatException($"{files[z0]}: a section of {first.Shape.Y} × {first.Shape.X}, unlike the first ({files[0]}: {shape0.Y} × {shape0.X}); every section of a sequence must match.");
        }

        var shape = new Shape3(count, first.Shape.Y, first.Shape.X);
        if (shape.Length > Array.MaxLength)
        {
            throw new VolumeFormatException($"{text}: {shape} is too large to load at once; mask it block by block (--block) into HDF5.");
        }

        IVolume stack = first switch
        {
            Volume<byte> => new Volume<byte>(shape, first.VoxelSize),
            Volume<ushort> => new Volume<ushort>(shape, first.VoxelSize),
            Volume<float> => new Volume<float>(shape, first.VoxelSize),
            _ => throw new VolumeFormatException($"{files[z0]}: {first.VoxelType} sections are not supported in a sequence."),
        };
        for (int z = 0; z < count; z++)
        {
            ct.ThrowIfCancellationRequested();
            string file = files[z0 + z];
            var section = z == 0 ? first : ReadSection(file, ct);
            if (section.Shape != first.Shape || section.VoxelType != first.VoxelType)
            {
                throw new VolumeFormatException($"{file}: a {section.VoxelType} section of {section.Shape.Y} × {section.Shape.X}, unlike {files[z0]} ({first.VoxelType}, {first.Shape.Y} × {first.Shape.X}); every section of a sequence must match.");
            }

            Copy(section, stack, z);
        }

        return stack;
    }

    // A colour section (an (H, W, 3) image as read) counts as its luminance, one section of H × W.
    private static Shape3 SectionShape(string file)
    {
        var path = new VolumePath(file, null);
        var shape = VolumeReader.ReadShape(path);
        if (ColorImage.Looks(shape, VolumeReader.ReadRank(path)))
        {
            return new Shape3(1, shape.Z, shape.Y);
        }

        return shape.Z == 1 ? shape : throw NotOneSection(file, shape);
    }

    private static IVolume ReadSection(string file, CancellationToken ct)
    {
        var path = new VolumePath(file, null);
        var section = VolumeReader.Read(path, ct);
        if (ColorImage.Looks(section.Shape, VolumeReader.ReadRank(path)))
        {
            return ColorImage.Luminance(section);
        }

        return section.Shape.Z == 1 ? section : throw NotOneSection(file, section.Shape);
    }

    /// <summary>True when the sequence's first section is a colour image (the sections are read as their luminance).</summary>
    public static bool IsColour(string text)
    {
        var first = new VolumePath(Files(text)[0], null);
        return ColorImage.Looks(VolumeReader.ReadShape(first), VolumeReader.ReadRank(first));
    }

    private static VolumeFormatException NotOneSection(string file, Shape3 shape) =>
        new($"{file}: a section of a sequence must be one image, not {shape} (several pages); save one section per file.");

    private static void Copy(IVolume section, IVolume stack, int z)
    {
        int plane = section.Shape.SliceLength;
        switch (stack)
        {
            case Volume<byte> b:
                ((Volume<byte>)section).Span.CopyTo(b.Span.Slice(z * plane, plane));
                break;
            case Volume<ushort> u:
                ((Volume<ushort>)section).Span.CopyTo(u.Span.Slice(z * plane, plane));
                break;
            case Volume<float> f:
                ((Volume<float>)section).Span.CopyTo(f.Span.Slice(z * plane, plane));
                break;
        }
    }

    /// <summary>Names compared with their digit runs as numbers: s2 before s10.</summary>
    private sealed partial class NaturalOrder : IComparer<string>
    {
        public static readonly NaturalOrder Instance = new();

        public int Compare(string? x, string? y)
        {
            var a = Parts().Split(x ?? string.Empty);
            var b = Parts().Split(y ?? string.Empty);
            for (int i = 0; i < Math.Min(a.Length, b.Length); i++)
            {
                int c = a[i].Length > 0 && char.IsAsciiDigit(a[i][0]) && b[i].Length > 0 && char.IsAsciiDigit(b[i][0])
                    ? CompareNumbers(a[i], b[i])
                    : string.CompareOrdinal(a[i], b[i]);
                if (c != 0)
                {
                    return c;
                }
            }

            return a.Length.CompareTo(b.Length);
        }

        private static int CompareNumbers(string a, string b)
        {
            string p = a.TrimStart('0'), q = b.TrimStart('0');
            int c = p.Length.CompareTo(q.Length);
            return c != 0 ? c : string.CompareOrdinal(p, q) is var d && d != 0 ? d : a.Length.CompareTo(b.Length);
        }

        [GeneratedRegex(@"(\d+)")]
        private static partial Regex Parts();
    }
}

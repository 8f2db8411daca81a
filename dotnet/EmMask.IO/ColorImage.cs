using EmMask.Core.Volumes;

namespace EmMask.IO;

/// <summary>
/// RGB(A) images stored as (H, W, 3|4) arrays. Read as a volume they would be H sections of W×3 voxels; EM is
/// grey, so a colour image (an exported screenshot or a JPEG) is masked on its luminance instead.
/// </summary>
public static class ColorImage
{
    /// <summary>True for a 3-axis array whose last axis holds 3 or 4 channels and whose other axes are image-sized (≥ 16).</summary>
    public static bool Looks(Shape3 shape, int rank) => rank == 3 && shape.X is 3 or 4 && shape.Z >= 16 && shape.Y >= 16;

    /// <summary>
    /// For an array of 4 axes that no reader takes as a colour stack (HDF5, or a Fortran-ordered npy) whose last axis
    /// holds 3 or 4 channels: what to do instead, as a sentence to append to the refusal; else empty.
    /// </summary>
    public static string StackHint(IReadOnlyList<long> dims)
    {
        ArgumentNullException.ThrowIfNull(dims);
        return IsStack(dims)
            ? " It looks like a colour stack (channels last): convert it to grey first (numpy: (a[..., :3] @ [0.299, 0.587, 0.114]).astype('uint8'); " +
              "Fiji: Image > Type > 8-bit), or save it as a C-ordered .npy, a multi-page TIFF or a folder of images, which are masked on their luminance."
            : string.Empty;
    }

    /// <summary>True for the dimensions of a colour stack: 4 axes, the last of 3 or 4 channels (RGB, RGBA).</summary>
    public static bool IsStack(IReadOnlyList<long> dims) => dims is { Count: 4 } && dims[3] is 3 or 4;

    /// <summary>The warning a run gives for a colour stack masked on its luminance.</summary>
    public static string StackWarning(string input, Shape3 shape) =>
        $"{input} is a colour stack: masked the luminance (0.299 R + 0.587 G + 0.114 B) of each section; the mask is ({shape.Z}, {shape.Y}, {shape.X}).";

    /// <summary>The Rec. 601 luminance (0.299 R + 0.587 G + 0.114 B; alpha ignored) as a (1, H, W) float32 image.</summary>
    public static Volume<float> Luminance(IVolume rgb)
    {
        ArgumentNullException.ThrowIfNull(rgb);
        var s = rgb.Shape;
        return Luminance(rgb, s.X, new Shape3(1, s.Z, s.Y), new VoxelSize(1, rgb.VoxelSize.Z, rgb.VoxelSize.Y));
    }

    /// <summary>
    /// The Rec. 601 luminance of <paramref name="interleaved"/>, whose every <paramref name="channels"/> consecutive
    /// values are one pixel's R, G, B (and alpha, ignored), as a float32 volume of <paramref name="shape"/>.
    /// </summary>
    public static Volume<float> Luminance(IVolume interleaved, int channels, Shape3 shape, VoxelSize voxelSize)
    {
        ArgumentNullException.ThrowIfNull(interleaved);
        if (interleaved.Shape.Length != shape.Length * channels)
        {
            throw new ArgumentException($"{interleaved.Shape} does not hold {shape} pixels of {channels} channels.", nameof(interleaved));
        }

        var result = new Volume<float>(shape, voxelSize);
        var o = result.Span;
        for (int i = 0; i < o.Length; i++)
        {
            long b = (long)i * channels;
            o[i] = (float)((0.299 * Value(interleaved, b)) + (0.587 * Value(interleaved, b + 1)) + (0.114 * Value(interleaved, b + 2)));
        }

        return result;
    }

    private static double Value(IVolume v, long i) => v switch
    {
        Volume<byte> b => b.Span[(int)i],
        Volume<ushort> u => u.Span[(int)i],
        Volume<float> f => f.Span[(int)i],
        Volume<int> n => n.Span[(int)i],
        _ => throw new NotSupportedException($"Voxel type {v.VoxelType} is not supported."),
    };
}

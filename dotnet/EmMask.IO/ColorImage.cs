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
    /// For an array of 4 axes whose last holds 3 or 4 channels (a colour stack, channels last): what to do instead, as a
    /// sentence to append to the refusal; else empty. Colour stacks are not read (single colour images are).
    /// </summary>
    public static string StackHint(IReadOnlyList<long> dims)
    {
        ArgumentNullException.ThrowIfNull(dims);
        return dims.Count == 4 && dims[3] is 3 or 4
            ? " It looks like a colour stack (channels last): convert it to grey first (numpy: (a[..., :3] @ [0.299, 0.587, 0.114]).astype('uint8'); " +
              "Fiji: Image > Type > 8-bit), or open it in napari, where the plugin masks an RGB layer on its luminance."
            : string.Empty;
    }

    /// <summary>The Rec. 601 luminance (0.299 R + 0.587 G + 0.114 B; alpha ignored) as a (1, H, W) float32 image.</summary>
    public static Volume<float> Luminance(IVolume rgb)
    {
        ArgumentNullException.ThrowIfNull(rgb);
        var s = rgb.Shape;
        var result = new Volume<float>(new Shape3(1, s.Z, s.Y), new VoxelSize(1, rgb.VoxelSize.Z, rgb.VoxelSize.Y));
        var o = result.Span;
        for (int i = 0; i < o.Length; i++)
        {
            long b = (long)i * s.X;
            o[i] = (float)((0.299 * Value(rgb, b)) + (0.587 * Value(rgb, b + 1)) + (0.114 * Value(rgb, b + 2)));
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

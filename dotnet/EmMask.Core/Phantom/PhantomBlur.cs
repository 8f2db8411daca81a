namespace EmMask.Core.Phantom;

/// <summary>
/// Mild optical blur: the binomial kernel [1, 2, 1] / 4 (σ ≈ 0.7 voxel) along each axis, edges reflected. Integer
/// weights keep it exact and identical everywhere, unlike a Gaussian built with exp().
/// </summary>
internal static class PhantomBlur
{
    /// <summary>Blurs one slice (height × width) along x and y in place; <paramref name="scratch"/> holds one slice.</summary>
    public static void BlurSlice(Span<float> slice, int height, int width, Span<float> scratch)
    {
        if (width > 1)
        {
            for (int y = 0; y < height; y++)
            {
                var row = slice.Slice(y * width, width);
                var tmp = scratch[..width];
                row.CopyTo(tmp);
                for (int x = 0; x < width; x++)
                {
                    float left = tmp[x == 0 ? 0 : x - 1], right = tmp[x == width - 1 ? x : x + 1];
                    row[x] = (left + (2 * tmp[x]) + right) * 0.25f;
                }
            }
        }

        if (height > 1)
        {
            slice.CopyTo(scratch);
            for (int y = 0; y < height; y++)
            {
                var up = scratch.Slice((y == 0 ? 0 : y - 1) * width, width);
                var mid = scratch.Slice(y * width, width);
                var down = scratch.Slice((y == height - 1 ? y : y + 1) * width, width);
                var row = slice.Slice(y * width, width);
                for (int x = 0; x < width; x++)
                {
                    row[x] = (up[x] + (2 * mid[x]) + down[x]) * 0.25f;
                }
            }
        }
    }

    /// <summary>Blurs rows y of every slice along z; <paramref name="scratch"/> holds depth × width values.</summary>
    public static void BlurZ(Span<float> volume, int depth, int height, int width, int y, Span<float> scratch)
    {
        int slice = height * width;
        for (int z = 0; z < depth; z++)
        {
            volume.Slice((z * slice) + (y * width), width).CopyTo(scratch.Slice(z * width, width));
        }

        for (int z = 0; z < depth; z++)
        {
            var below = scratch.Slice((z == 0 ? 0 : z - 1) * width, width);
            var mid = scratch.Slice(z * width, width);
            var above = scratch.Slice((z == depth - 1 ? z : z + 1) * width, width);
            var row = volume.Slice((z * slice) + (y * width), width);
            for (int x = 0; x < width; x++)
            {
                row[x] = (below[x] + (2 * mid[x]) + above[x]) * 0.25f;
            }
        }
    }
}

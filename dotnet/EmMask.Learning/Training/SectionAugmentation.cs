using EmMask.Core.Volumes;

namespace EmMask.Learning.Training;

/// <summary>
/// Augmentations along z that real serial-section and block-face stacks need: thick sections (anisotropy), misaligned
/// sections, lost sections, and 2-D patches (one section in every plane). Each works in place on a patch's image,
/// labels and weights (C order z, y, x) with a scratch buffer of the patch's length.
/// </summary>
internal static class SectionAugmentation
{
    /// <summary>
    /// Thick sections: section z takes the content of the k-block it falls in, nearest (the block's middle section,
    /// clamped to the patch), for all three arrays; with <paramref name="meanImage"/> the image is the block's mean.
    /// </summary>
    public static void Thicken(Span<float> image, Span<float> label, Span<float> weight, Shape3 patch, int k, int phase, bool meanImage, float[] scratch)
    {
        if (k <= 1) return;
        int plane = patch.Y * patch.X;
        int Source(int z)
        {
            int block = (int)Math.Floor((z - phase) / (double)k) * k + phase; // first section of z's block
            return Math.Clamp(block + k / 2, 0, patch.Z - 1);
        }

        if (meanImage)
        {
            image.CopyTo(scratch);
            for (int z = 0; z < patch.Z; z++)
            {
                int block = (int)Math.Floor((z - phase) / (double)k) * k + phase;
                int a = Math.Max(0, block), b = Math.Min(patch.Z, block + k);
                var dst = image.Slice(z * plane, plane);
                dst.Clear();
                for (int s = a; s < b; s++)
                {
                    var src = scratch.AsSpan(s * plane, plane);
                    for (int i = 0; i < plane; i++) dst[i] += src[i];
                }
                float inv = 1f / (b - a);
                for (int i = 0; i < plane; i++) dst[i] *= inv;
            }
        }
        else
        {
            RemapSections(image, patch, Source, scratch);
        }

        RemapSections(label, patch, Source, scratch);
        RemapSections(weight, patch, Source, scratch);
    }

    /// <summary>
    /// Moves section z by (dy[z], dx[z]) (content at (y, x) comes from (y − dy, x − dx)) in all three arrays. Voxels
    /// that come from outside the patch take the nearest edge's image and label, and weight 0.
    /// </summary>
    public static void Shift(Span<float> image, Span<float> label, Span<float> weight, Shape3 patch, int[] dy, int[] dx, float[] scratch)
    {
        int Y = patch.Y, X = patch.X, plane = Y * X;
        for (int pass = 0; pass < 3; pass++)
        {
            var data = pass == 0 ? image : pass == 1 ? label : weight;
            data.CopyTo(scratch);
            for (int z = 0; z < patch.Z; z++)
            {
                if (dy[z] == 0 && dx[z] == 0) continue;
                int o = z * plane;
                for (int y = 0; y < Y; y++)
                {
                    int sy = y - dy[z];
                    bool yIn = (uint)sy < (uint)Y;
                    sy = Math.Clamp(sy, 0, Y - 1);
                    for (int x = 0; x < X; x++)
                    {
                        int sx = x - dx[z];
                        bool inside = yIn && (uint)sx < (uint)X;
                        sx = Math.Clamp(sx, 0, X - 1);
                        data[o + y * X + x] = pass == 2 && !inside ? 0f : scratch[o + sy * X + sx];
                    }
                }
            }
        }
    }

    /// <summary>
    /// Loses section <paramref name="z"/>: its image becomes <paramref name="fill"/> or, when
    /// <paramref name="copyFrom"/> is a valid section, a copy of that section; its weights become 0.
    /// </summary>
    public static void Drop(Span<float> image, Span<float> weight, Shape3 patch, int z, float fill, int copyFrom)
    {
        int plane = patch.Y * patch.X;
        var dst = image.Slice(z * plane, plane);
        if ((uint)copyFrom < (uint)patch.Z && copyFrom != z) image.Slice(copyFrom * plane, plane).CopyTo(dst);
        else dst.Fill(fill);
        weight.Slice(z * plane, plane).Clear();
    }

    /// <summary>Copies section <paramref name="z"/> of each array into every section (a 2-D patch).</summary>
    public static void Planar(Span<float> image, Span<float> label, Span<float> weight, Shape3 patch, int z)
    {
        int plane = patch.Y * patch.X;
        for (int pass = 0; pass < 3; pass++)
        {
            var data = pass == 0 ? image : pass == 1 ? label : weight;
            var src = data.Slice(z * plane, plane);
            for (int s = 0; s < patch.Z; s++)
                if (s != z) src.CopyTo(data.Slice(s * plane, plane));
        }
    }

    private static void RemapSections(Span<float> data, Shape3 patch, Func<int, int> source, float[] scratch)
    {
        int plane = patch.Y * patch.X;
        data.CopyTo(scratch);
        for (int z = 0; z < patch.Z; z++)
        {
            int s = source(z);
            if (s != z) scratch.AsSpan(s * plane, plane).CopyTo(data.Slice(z * plane, plane));
        }
    }
}

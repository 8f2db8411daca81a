using EmMask.Core.Volumes;

namespace EmMask.Core.Masking;

/// <summary>
/// The ringing that lossy compression (JPEG) leaves next to exact-constant padding: pixels a few grey values off the
/// padding value, scattered with exact ones, in the 8×8 blocks the tissue's edge crosses. They are not solid, so
/// <see cref="PaddingDetector"/> does not find them as padding, but they are no tissue either, and their "texture" made
/// a halo of tissue into the padding. The fringe is taken out of the final mask and out of the valid map the masker
/// reports (so the U-Net's envelope leaves it out too); every statistic is measured as without it.
/// </summary>
/// <remarks>
/// For each padding value p of a section: the pixels joined to its padding (8-connected, through such pixels) within
/// <see cref="Reach"/> steps whose value lies within <see cref="ContrastShare"/> of the section's contrast to p
/// (|median of its non-padding pixels − p|). On six JPEG thumbnails of corpus tissue on zero padding (quality 60–90) the
/// ringing stayed within 8 px of the edge and 0.21 of the contrast, and the tissue at the edge at least 0.08 of it away
/// (0.1 % quantile 0.15). Clipped dark staining that touches the padding is taken with it (<c>docs/real-em-decisions.md</c>,
/// 2026-12-06: when the fringe also left the statistics, the resin rule moved and took ordinary tissue).
/// </remarks>
internal static class PaddingFringe
{
    /// <summary>Farthest a fringe pixel lies from its padding (8-connected steps): one JPEG block.</summary>
    public const int Reach = 8;

    /// <summary>Largest distance of a fringe pixel's value from the padding value, as a share of the section's contrast.</summary>
    public const double ContrastShare = 0.25;

    /// <summary>The fringe (1) of the padding (<paramref name="valid"/> 0) of every section of <paramref name="n"/>, or null when there is none.</summary>
    public static Volume<byte>? Find(Volume<float> n, Volume<byte>? valid, CancellationToken ct)
    {
        if (valid is null)
        {
            return null;
        }

        var shape = n.Shape;
        int plane = shape.SliceLength;
        var fringe = n.Like<byte>();
        long found = 0;
        var queue = new int[plane];
        var steps = new int[plane];
        var padding = new byte[plane];
        for (int z = 0; z < shape.Z; z++)
        {
            ct.ThrowIfCancellationRequested();
            var ok = valid.Span.Slice(z * plane, plane);
            for (int i = 0; i < plane; i++)
            {
                padding[i] = ok[i] == 0 ? (byte)1 : (byte)0;
            }

            found += Grow(n.Span.Slice(z * plane, plane), shape.Y, shape.X, padding, fringe.Span.Slice(z * plane, plane), queue, steps);
        }

        return found > 0 ? fringe : null;
    }

    /// <summary>
    /// Takes the fringe out of the final mask (<paramref name="outside"/>: 0, or the invalid code of a pre-mask), its confidence (0)
    /// and the valid map.
    /// </summary>
    public static void Apply(Volume<byte>? fringe, Volume<byte> mask, Volume<float> confidence, Volume<byte>? valid, byte outside)
    {
        if (fringe is null || valid is null)
        {
            return;
        }

        var f = fringe.Span;
        var m = mask.Span;
        var c = confidence.Span;
        var ok = valid.Span;
        bool withConfidence = c.Length == f.Length;
        for (int i = 0; i < f.Length; i++)
        {
            if (f[i] != 0)
            {
                m[i] = outside;
                ok[i] = 0;
                if (withConfidence)
                {
                    c[i] = 0;
                }
            }
        }
    }

    // Marks the fringe of a section's padding (1 = padding) in fringe; returns the number of pixels marked. queue and
    // steps are scratch of the section's length.
    private static long Grow(ReadOnlySpan<float> v, int ny, int nx, ReadOnlySpan<byte> padding, Span<byte> fringe, int[] queue, int[] steps)
    {
        int n = ny * nx;
        var values = new List<float>(2);
        int tissue = 0;
        for (int i = 0; i < n; i++)
        {
            if (padding[i] == 0)
            {
                tissue++;
            }
            else if (!values.Contains(v[i]))
            {
                values.Add(v[i]);
            }
        }

        if (tissue == 0 || values.Count == 0)
        {
            return 0;
        }

        var rest = new float[tissue];
        for (int i = 0, k = 0; i < n; i++)
        {
            if (padding[i] == 0)
            {
                rest[k++] = v[i];
            }
        }

        float median = Select.Median(rest);
        var near = new bool[n];
        var deep = new int[n];
        var added = new List<int>();
        foreach (float p in values)
        {
            double tolerance = ContrastShare * Math.Abs((double)median - p);
            for (int i = 0; i < n; i++)
            {
                near[i] = padding[i] == 0 && Math.Abs((double)v[i] - p) <= tolerance;
            }

            // Within twice the reach: what lies beyond the reach is material at the padding's value (dark staining,
            // resin), not ringing, and the near pixels within the reach of it stay as they are.
            int seeds = 0;
            for (int i = 0; i < n; i++)
            {
                if (padding[i] != 0 && v[i] == p)
                {
                    queue[seeds++] = i;
                }
            }

            Geodesic(queue, seeds, near, nx, ny, 2 * Reach, steps);
            int deepCount = 0;
            for (int i = 0; i < n; i++)
            {
                if (steps[i] > Reach)
                {
                    deep[deepCount++] = i;
                }
            }

            var fromPadding = (int[])steps.Clone();
            Array.Copy(deep, queue, deepCount);
            Geodesic(queue, deepCount, near, nx, ny, Reach, steps);
            for (int i = 0; i < n; i++)
            {
                if (fromPadding[i] is > 0 and <= Reach && steps[i] < 0)
                {
                    added.Add(i);
                }
            }
        }

        long count = 0;
        foreach (int j in added)
        {
            if (fringe[j] == 0)
            {
                fringe[j] = 1;
                count++;
            }
        }

        return count;
    }

    // Breadth-first steps (8-connected) from the first count entries of queue through the pixels of through, at most
    // limit steps; steps[i] is -1 where not reached (0 at the seeds).
    private static void Geodesic(int[] queue, int count, bool[] through, int nx, int ny, int limit, int[] steps)
    {
        Array.Fill(steps, -1, 0, nx * ny);
        for (int k = 0; k < count; k++)
        {
            steps[queue[k]] = 0;
        }

        int head = 0, tail = count;
        while (head < tail)
        {
            int i = queue[head++];
            if (steps[i] == limit)
            {
                continue;
            }

            int x = i % nx, y = i / nx;
            for (int dy = -1; dy <= 1; dy++)
            {
                for (int dx = -1; dx <= 1; dx++)
                {
                    int yy = y + dy, xx = x + dx;
                    if ((dy == 0 && dx == 0) || yy < 0 || yy >= ny || xx < 0 || xx >= nx)
                    {
                        continue;
                    }

                    int j = (yy * nx) + xx;
                    if (steps[j] < 0 && through[j])
                    {
                        steps[j] = steps[i] + 1;
                        queue[tail++] = j;
                    }
                }
            }
        }
    }
}

namespace EmMask.Core.Masking;

/// <summary>
/// The ringing that lossy compression (JPEG) leaves next to exact-constant padding: pixels a few grey values off the
/// padding value, scattered with exact ones, in the 8×8 blocks the tissue's edge crosses. They are not solid, so
/// <see cref="PaddingDetector"/> does not find them as padding, but they are no tissue either, and their "texture" made
/// a halo of tissue into the padding. The fringe joins the padding, so it is never tissue and leaves every statistic.
/// </summary>
/// <remarks>
/// For each padding value p of a section: the pixels joined to its padding (8-connected, through such pixels) within
/// <see cref="Reach"/> steps whose value lies within <see cref="ContrastShare"/> of the section's contrast to p
/// (|median of its non-padding pixels − p|). On six JPEG thumbnails of corpus tissue on zero padding (quality 60–90) the
/// ringing stayed within 8 px of the edge and 0.21 of the contrast, and the tissue at the edge at least 0.08 of it away
/// (0.1 % quantile 0.15; <c>docs/real-em-decisions.md</c>, 2026-12-06).
/// </remarks>
internal static class PaddingFringe
{
    /// <summary>Farthest a fringe pixel lies from its padding (8-connected steps): one JPEG block.</summary>
    public const int Reach = 8;

    /// <summary>Largest distance of a fringe pixel's value from the padding value, as a share of the section's contrast.</summary>
    public const double ContrastShare = 0.25;

    /// <summary>
    /// Adds the fringe of a section's padding (<paramref name="padding"/>, 1 = padding, changed in place) and returns
    /// the number of pixels added. <paramref name="queue"/> and <paramref name="steps"/> are scratch of the section's length.
    /// </summary>
    public static long Grow(ReadOnlySpan<float> v, int ny, int nx, Span<byte> padding, int[] queue, int[] steps)
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
        var added = new List<int>();
        foreach (float p in values)
        {
            double tolerance = ContrastShare * Math.Abs((double)median - p);
            int head = 0, tail = 0;
            Array.Fill(steps, -1, 0, n);
            for (int i = 0; i < n; i++)
            {
                if (padding[i] != 0 && v[i] == p)
                {
                    steps[i] = 0;
                    queue[tail++] = i;
                }
            }

            while (head < tail)
            {
                int i = queue[head++];
                if (steps[i] == Reach)
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
                        if (steps[j] < 0 && padding[j] == 0 && Math.Abs((double)v[j] - p) <= tolerance)
                        {
                            steps[j] = steps[i] + 1;
                            queue[tail++] = j;
                            added.Add(j);
                        }
                    }
                }
            }
        }

        long count = 0;
        foreach (int j in added)
        {
            if (padding[j] == 0)
            {
                padding[j] = 1;
                count++;
            }
        }

        return count;
    }
}

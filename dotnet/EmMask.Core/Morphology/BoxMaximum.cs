using EmMask.Core.Volumes;

namespace EmMask.Core.Morphology;

/// <summary>
/// Dilation of a 0/1 volume with a box of ±radius voxels per axis (a square per section when <c>planar</c>), in place.
/// Separable: one pass per axis with a running count of set voxels, linear in the volume whatever the radius.
/// </summary>
public static class BoxMaximum
{
    /// <summary>Sets every voxel within ±<paramref name="radius"/> (per axis) of a non-zero voxel to 1, the others to 0.</summary>
    public static void Apply(Volume<byte> mask, int radius, bool planar, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(mask);
        ArgumentOutOfRangeException.ThrowIfNegative(radius);
        var s = mask.Shape;
        var data = mask.Span;
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = data[i] != 0 ? (byte)1 : (byte)0;
        }

        if (radius == 0)
        {
            return;
        }

        int longest = Math.Max(s.X, Math.Max(s.Y, s.Z));
        var line = new byte[longest];
        var output = new byte[longest];
        Pass(data, s.X, (long)s.Z * s.Y, 1, s.X, radius, line, output, ct); // x lines
        for (int z = 0; z < s.Z; z++)
        {
            Pass(data.Slice((int)((long)z * s.Y * s.X), s.Y * s.X), s.Y, s.X, s.X, 1, radius, line, output, ct); // y lines
        }

        if (!planar && s.Z > 1)
        {
            Pass(data, s.Z, (long)s.Y * s.X, s.Y * s.X, 1, radius, line, output, ct); // z lines
        }
    }

    // `count` lines of `length` voxels `stride` apart, line j starting at j·lineStep.
    private static void Pass(Span<byte> data, int length, long count, int stride, int lineStep, int radius, byte[] line, byte[] output, CancellationToken ct)
    {
        for (long j = 0; j < count; j++)
        {
            if ((j & 4095) == 0)
            {
                ct.ThrowIfCancellationRequested();
            }

            long start = j * lineStep;
            for (int k = 0; k < length; k++)
            {
                line[k] = data[(int)(start + ((long)k * stride))];
            }

            int set = 0;
            for (int k = 0; k < Math.Min(radius, length); k++)
            {
                set += line[k];
            }

            for (int k = 0; k < length; k++)
            {
                int enter = k + radius;
                if (enter < length)
                {
                    set += line[enter];
                }

                int leave = k - radius - 1;
                if (leave >= 0)
                {
                    set -= line[leave];
                }

                output[k] = set > 0 ? (byte)1 : (byte)0;
            }

            for (int k = 0; k < length; k++)
            {
                data[(int)(start + ((long)k * stride))] = output[k];
            }
        }
    }
}

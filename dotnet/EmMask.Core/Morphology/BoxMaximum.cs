using System.Numerics;
using System.Runtime.InteropServices;
using EmMask.Core.Filters;
using EmMask.Core.Volumes;

namespace EmMask.Core.Morphology;

/// <summary>
/// Dilation of a 0/1 volume with a box of ±radius voxels per axis (a square per section when <c>planar</c>), in place.
/// Separable, one pass per axis; each pass walks whole rows (y) or planes (z) with a running count per column, so it
/// reads memory in order, and costs the same whatever the radius.
/// </summary>
public static class BoxMaximum
{
    /// <summary>Sets every voxel within ±<paramref name="radius"/> (per axis) of a non-zero voxel to 1, the others to 0.</summary>
    public static void Apply(Volume<byte> mask, int radius, bool planar, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(mask);
        ArgumentOutOfRangeException.ThrowIfNegative(radius);
        var s = mask.Shape;
        var memory = mask.Memory;
        var options = new ParallelOptions { MaxDegreeOfParallelism = ParallelLines.Degree, CancellationToken = ct };
        int plane = s.Y * s.X;

        // x: each row on its own; y: each section's rows as the steps.
        Parallel.For(0, s.Z, options, () => new Window(s.X, radius), (z, _, w) =>
        {
            var slice = memory.Span.Slice(z * plane, plane);
            for (int i = 0; i < slice.Length; i++)
            {
                slice[i] = slice[i] != 0 ? (byte)1 : (byte)0;
            }

            if (radius > 0)
            {
                for (int y = 0; y < s.Y; y++)
                {
                    Row(slice.Slice(y * s.X, s.X), radius, w.Line);
                }

                w.Run(slice, s.Y, s.X, s.X);
            }

            return w;
        }, _ => { });

        if (planar || s.Z == 1 || radius == 0)
        {
            return;
        }

        // z: the sections as the steps, in bands of rows (a band's columns are independent of the others').
        int band = Math.Max(1, 4096 / s.X);
        int bands = (s.Y + band - 1) / band;
        Parallel.For(0, bands, options, () => new Window(Math.Min(band, s.Y) * s.X, radius), (b, _, w) =>
        {
            int y0 = b * band, rows = Math.Min(band, s.Y - y0);
            w.Run(memory.Span[(y0 * s.X)..], s.Z, rows * s.X, plane);
            return w;
        }, _ => { });
    }

    /// <summary>A sliding OR along one row (its copy in <paramref name="line"/>).</summary>
    private static void Row(Span<byte> row, int radius, byte[] line)
    {
        row.CopyTo(line);
        int n = row.Length, set = 0;
        for (int k = 0; k < Math.Min(radius, n); k++)
        {
            set += line[k];
        }

        for (int k = 0; k < n; k++)
        {
            if (k + radius < n)
            {
                set += line[k + radius];
            }

            if (k - radius - 1 >= 0)
            {
                set -= line[k - radius - 1];
            }

            row[k] = set > 0 ? (byte)1 : (byte)0;
        }
    }

    /// <summary>A sliding OR over `steps` rows of `width` columns, rows `stride` apart: counts per column and the last radius + 1 original rows.</summary>
    private sealed class Window(int width, int radius)
    {
        private readonly ushort[] count = new ushort[width]; // a window holds at most 2·radius + 1 ≤ 513 rows
        private readonly byte[] ring = new byte[(radius + 1) * width];

        /// <summary>Scratch for one row along x.</summary>
        public byte[] Line { get; } = new byte[width];

        public void Run(Span<byte> data, int steps, int columns, int stride)
        {
            var c = count.AsSpan(0, columns);
            c.Clear();
            for (int e = 0; e < Math.Min(radius, steps); e++)
            {
                Add(c, data.Slice(e * stride, columns), 1);
            }

            for (int k = 0; k < steps; k++)
            {
                int enter = k + radius;
                if (enter < steps)
                {
                    Add(c, data.Slice(enter * stride, columns), 1);
                }

                int leave = k - radius - 1;
                var slot = ring.AsSpan((k % (radius + 1)) * width, columns);
                if (leave >= 0)
                {
                    Add(c, slot, -1); // the slot holds row `leave`, saved before it was overwritten
                }

                var row = data.Slice(k * stride, columns);
                row.CopyTo(slot);
                for (int i = 0; i < columns; i++)
                {
                    row[i] = c[i] != 0 ? (byte)1 : (byte)0;
                }
            }
        }

        private static void Add(Span<ushort> c, ReadOnlySpan<byte> row, int sign)
        {
            int i = 0;
            if (Vector.IsHardwareAccelerated)
            {
                for (; i + Vector<byte>.Count <= c.Length; i += Vector<byte>.Count)
                {
                    Vector.Widen(new Vector<byte>(row.Slice(i, Vector<byte>.Count)), out var low, out var high);
                    var at = MemoryMarshal.Cast<ushort, Vector<ushort>>(c.Slice(i, Vector<byte>.Count));
                    at[0] = sign > 0 ? at[0] + low : at[0] - low;
                    at[1] = sign > 0 ? at[1] + high : at[1] - high;
                }
            }

            for (; i < c.Length; i++)
            {
                c[i] = (ushort)(c[i] + (sign * row[i]));
            }
        }
    }
}

using EmMask.Core.Volumes;

namespace EmMask.Core.Masking;

/// <summary>
/// Exact-constant padding: what alignment, registration or stitching leaves around a tissue block (often 0), and
/// saturated borders. It is never tissue, and it must not enter the noise and threshold statistics: on a FIB-SEM thumbnail
/// on zero padding the noise estimate fell to about 0 and the JPEG ringing at the block's edge became "texture".
/// </summary>
/// <remarks>
/// Per z section, voxels are joined (4-connected) to equal-valued neighbours. A component is padding when it has at least
/// <see cref="MinimumArea"/> voxels, at least <see cref="MinimumCore"/> of them have all eight neighbours equal, and
/// those cores are at least <see cref="MinimumCoreShare"/> of it (padding is solid).
/// Noise makes equal neighbours rare in real EM (a 3×3 block of one value has a chance of about p⁸), so random
/// plateaus stay far below these sizes; a large resin plateau in a smoothed 8-bit image is caught, which is right.
/// Clipped dark staining in 8-bit data is not: its zeros join into large ragged components (the SEM tissue edge in 8
/// bits: 526 and 1130 voxels, 4–6 % cores), while padding's components are 79–97 % cores.
/// </remarks>
public static class PaddingDetector
{
    /// <summary>Smallest component (voxels in one section) that counts as padding.</summary>
    public const int MinimumArea = 256;

    /// <summary>Smallest number of voxels with a fully equal 3×3 neighbourhood in a padding component.</summary>
    public const int MinimumCore = 16;

    /// <summary>Smallest share of a padding component's voxels with a fully equal 3×3 neighbourhood (a strip 3 voxels wide along the border has a third).</summary>
    public const double MinimumCoreShare = 0.25;

    /// <summary>Whether a component of <paramref name="size"/> voxels, <paramref name="core"/> of them cores, is padding.</summary>
    internal static bool IsPadding(int size, int core) =>
        size >= MinimumArea && core >= MinimumCore && core >= MinimumCoreShare * size;

    /// <summary>The padding mask (1 = padding), or null when there is none.</summary>
    public static Volume<byte>? Detect(Volume<float> volume, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(volume);
        var shape = volume.Shape;
        if (shape.Y * (long)shape.X < MinimumArea)
        {
            return null;
        }

        var mask = volume.Like<byte>();
        long found = 0;
        var gate = new object();
        Parallel.For(0, shape.Z, new ParallelOptions { CancellationToken = ct }, () => new Scratch(shape.SliceLength), (z, _, scratch) =>
        {
            long n = DetectSlice(volume.Memory.Span.Slice((int)(z * shape.SliceLength), shape.SliceLength), shape.Y, shape.X, mask.Memory.Span.Slice((int)(z * shape.SliceLength), shape.SliceLength), scratch);
            if (n > 0)
            {
                lock (gate)
                {
                    found += n;
                }
            }

            return scratch;
        }, _ => { });
        return found > 0 ? mask : null;
    }

    private sealed class Scratch(int length)
    {
        public int[] Label { get; } = new int[length];

        public int[] Queue { get; } = new int[length];

        public List<(int Size, int Core)> Components { get; } = [];
    }

    private static long DetectSlice(ReadOnlySpan<float> v, int ny, int nx, Span<byte> output, Scratch scratch)
    {
        // Fast path: without MinimumCore fully equal 3×3 neighbourhoods (real EM's noise sees to that) there is no padding.
        if (CountCores(v, ny, nx, MinimumCore) < MinimumCore)
        {
            return 0;
        }

        var label = scratch.Label;
        var queue = scratch.Queue;
        var components = scratch.Components;
        components.Clear();
        Array.Fill(label, -1);
        int n = ny * nx;
        for (int seed = 0; seed < n; seed++)
        {
            if (label[seed] >= 0)
            {
                continue;
            }

            // Cheap rejection: a voxel with no equal 4-neighbour is a component of one.
            float value = v[seed];
            int sx = seed % nx, sy = seed / nx;
            bool any = (sx > 0 && v[seed - 1] == value) || (sx + 1 < nx && v[seed + 1] == value)
                || (sy > 0 && v[seed - nx] == value) || (sy + 1 < ny && v[seed + nx] == value);
            int id = components.Count;
            if (!any)
            {
                label[seed] = int.MaxValue;
                continue;
            }

            int head = 0, tail = 0, size = 0, core = 0;
            queue[tail++] = seed;
            label[seed] = id;
            while (head < tail)
            {
                int i = queue[head++];
                size++;
                int x = i % nx, y = i / nx;
                if (x > 0 && x + 1 < nx && y > 0 && y + 1 < ny && AllEqual(v, i, nx, value))
                {
                    core++;
                }

                if (x > 0)
                {
                    Visit(v, label, queue, ref tail, i - 1, value, id);
                }

                if (x + 1 < nx)
                {
                    Visit(v, label, queue, ref tail, i + 1, value, id);
                }

                if (y > 0)
                {
                    Visit(v, label, queue, ref tail, i - nx, value, id);
                }

                if (y + 1 < ny)
                {
                    Visit(v, label, queue, ref tail, i + nx, value, id);
                }
            }

            components.Add((size, core));
        }

        long marked = 0;
        for (int i = 0; i < n; i++)
        {
            int id = label[i];
            if (id != int.MaxValue && id >= 0 && IsPadding(components[id].Size, components[id].Core))
            {
                output[i] = 1;
                marked++;
            }
        }

        return marked;
    }

    // Voxels whose eight neighbours all equal them, counted row by row with vector compares; stops at the limit.
    private static int CountCores(ReadOnlySpan<float> v, int ny, int nx, int limit)
    {
        int count = 0;
        int width = System.Numerics.Vector<float>.Count;
        for (int y = 1; y + 1 < ny && count < limit; y++)
        {
            var up = v.Slice((y - 1) * nx, nx);
            var row = v.Slice(y * nx, nx);
            var down = v.Slice((y + 1) * nx, nx);
            int x = 1;
            for (; x + width + 1 <= nx; x += width)
            {
                var c = new System.Numerics.Vector<float>(row[x..]);
                var eq = System.Numerics.Vector.Equals(c, new System.Numerics.Vector<float>(row[(x - 1)..]))
                    & System.Numerics.Vector.Equals(c, new System.Numerics.Vector<float>(row[(x + 1)..]))
                    & System.Numerics.Vector.Equals(c, new System.Numerics.Vector<float>(up[(x - 1)..]))
                    & System.Numerics.Vector.Equals(c, new System.Numerics.Vector<float>(up[x..]))
                    & System.Numerics.Vector.Equals(c, new System.Numerics.Vector<float>(up[(x + 1)..]))
                    & System.Numerics.Vector.Equals(c, new System.Numerics.Vector<float>(down[(x - 1)..]))
                    & System.Numerics.Vector.Equals(c, new System.Numerics.Vector<float>(down[x..]))
                    & System.Numerics.Vector.Equals(c, new System.Numerics.Vector<float>(down[(x + 1)..]));
                if (eq != System.Numerics.Vector<int>.Zero)
                {
                    for (int k = 0; k < width; k++)
                    {
                        count += eq[k] != 0 ? 1 : 0;
                    }
                }
            }

            for (; x + 1 < nx; x++)
            {
                if (AllEqual(v, (y * nx) + x, nx, row[x]))
                {
                    count++;
                }
            }
        }

        return count;
    }

    private static void Visit(ReadOnlySpan<float> v, int[] label, int[] queue, ref int tail, int j, float value, int id)
    {
        if (label[j] < 0 && v[j] == value)
        {
            label[j] = id;
            queue[tail++] = j;
        }
    }

    private static bool AllEqual(ReadOnlySpan<float> v, int i, int nx, float value) =>
        v[i - nx - 1] == value && v[i - nx] == value && v[i - nx + 1] == value
        && v[i - 1] == value && v[i + 1] == value
        && v[i + nx - 1] == value && v[i + nx] == value && v[i + nx + 1] == value;
}

using EmMask.Core.Volumes;

namespace EmMask.Core.Morphology;

/// <summary>
/// Marker-controlled watershed (Meyer's flooding, face connectivity): every unlabelled voxel gets the label of the
/// marker whose flood reaches it first when the relief is flooded from all markers at once, lowest values first.
/// Boundaries between labels settle on ridges of the relief. Like <c>skimage.segmentation.watershed(image, markers,
/// mask=mask)</c> but not voxel-identical to it (they differ on about 0.05% of voxels): a voxel is queued at the higher of
/// the current level and its own, priorities are quantised to <see cref="Levels"/> levels between the relief's minimum
/// and maximum, and ties go first in, first out, so the result is deterministic.
/// </summary>
public static class SeededWatershed
{
    /// <summary>Quantisation levels of the relief.</summary>
    public const int Levels = 1024;

    /// <summary>
    /// Floods <paramref name="labels"/> in place: voxels with a label &gt; 0 are markers, voxels with 0 are assigned, and
    /// voxels where <paramref name="mask"/> is 0 are left alone (and not crossed). With <paramref name="planar"/> each z
    /// section is flooded on its own (4-connected), else 6-connected in 3D.
    /// </summary>
    public static void Flood(Volume<float> relief, Volume<byte> labels, Volume<byte>? mask = null, bool planar = false, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(relief);
        ArgumentNullException.ThrowIfNull(labels);
        if (labels.Shape != relief.Shape || (mask is not null && mask.Shape != relief.Shape))
        {
            throw new ArgumentException("Relief, labels and mask must have the same shape.");
        }

        var shape = relief.Shape;
        if (shape.IsEmpty)
        {
            return;
        }

        if (planar && shape.Z > 1)
        {
            var section = new Shape3(1, shape.Y, shape.X);
            int n = shape.SliceLength;
            Parallel.For(0, shape.Z, new ParallelOptions { CancellationToken = ct }, z =>
                FloodCore(relief.Memory.Slice(z * n, n), labels.Memory.Slice(z * n, n), mask?.Memory.Slice(z * n, n), section, ct));
            return;
        }

        FloodCore(relief.Memory, labels.Memory, mask?.Memory, shape, ct);
    }

    private static void FloodCore(Memory<float> reliefMemory, Memory<byte> labelMemory, Memory<byte>? maskMemory, Shape3 shape, CancellationToken ct)
    {
        var relief = reliefMemory.Span;
        var labels = labelMemory.Span;
        var mask = maskMemory is { } m ? m.Span : default;
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        foreach (float v in relief)
        {
            if (float.IsFinite(v))
            {
                min = Math.Min(min, v);
                max = Math.Max(max, v);
            }
        }

        float scale = max > min ? (Levels - 1) / (max - min) : 0;
        var queue = new BucketQueue(Levels);
        int nx = shape.X, ny = shape.Y, nz = shape.Z, plane = shape.SliceLength;
        // Only seeds with an open 6-neighbour enter the queue: a seed enclosed by labelled (or masked-out) voxels would
        // label nothing when popped, now or later (labels are only ever added), so leaving it out changes no result, and
        // the queue holds the seeds' surface instead of all of them (a boundary band is a thin shell).
        for (int i = 0; i < labels.Length; i++)
        {
            if (labels[i] != 0 && (mask.IsEmpty || mask[i] != 0) && HasOpenNeighbour(labels, mask, i, shape))
            {
                queue.Push(Level(relief[i], min, scale), i);
            }
        }

        int counter = 0;
        while (queue.TryPop(out int level, out int i))
        {
            if ((++counter & 0xFFFF) == 0)
            {
                ct.ThrowIfCancellationRequested();
            }

            byte label = labels[i];
            int x = i % nx, y = (i / nx) % ny, z = i / plane;
            if (x > 0)
            {
                Visit(i - 1);
            }

            if (x + 1 < nx)
            {
                Visit(i + 1);
            }

            if (y > 0)
            {
                Visit(i - nx);
            }

            if (y + 1 < ny)
            {
                Visit(i + nx);
            }

            if (z > 0)
            {
                Visit(i - plane);
            }

            if (z + 1 < nz)
            {
                Visit(i + plane);
            }

            void Visit(int j)
            {
                var l = labelMemory.Span;
                if (l[j] != 0 || (maskMemory is { } mm && mm.Span[j] == 0))
                {
                    return;
                }

                l[j] = label;
                queue.Push(Math.Max(level, Level(reliefMemory.Span[j], min, scale)), j);
            }
        }
    }

    private static bool HasOpenNeighbour(ReadOnlySpan<byte> labels, ReadOnlySpan<byte> mask, int i, Shape3 shape)
    {
        int nx = shape.X, ny = shape.Y, plane = shape.SliceLength;
        int x = i % nx, y = (i / nx) % ny, z = i / plane;
        return (x > 0 && Open(labels, mask, i - 1)) || (x + 1 < nx && Open(labels, mask, i + 1))
            || (y > 0 && Open(labels, mask, i - nx)) || (y + 1 < ny && Open(labels, mask, i + nx))
            || (z > 0 && Open(labels, mask, i - plane)) || (z + 1 < shape.Z && Open(labels, mask, i + plane));
    }

    private static bool Open(ReadOnlySpan<byte> labels, ReadOnlySpan<byte> mask, int j) => labels[j] == 0 && (mask.IsEmpty || mask[j] != 0);

    private static int Level(float v, float min, float scale) =>
        float.IsFinite(v) ? Math.Clamp((int)((v - min) * scale), 0, Levels - 1) : Levels - 1;

    /// <summary>Monotone bucket queue: FIFO per level, the current level never decreases below a pushed one.</summary>
    private sealed class BucketQueue(int levels)
    {
        private readonly List<int>[] buckets = new List<int>[levels];
        private readonly int[] heads = new int[levels];
        private int current;

        public void Push(int level, int index)
        {
            (buckets[level] ??= []).Add(index);
            if (level < current)
            {
                current = level;
            }
        }

        public bool TryPop(out int level, out int index)
        {
            while (current < buckets.Length)
            {
                var b = buckets[current];
                if (b is not null && heads[current] < b.Count)
                {
                    level = current;
                    index = b[heads[current]++];
                    return true;
                }

                current++;
            }

            level = 0;
            index = -1;
            return false;
        }
    }
}

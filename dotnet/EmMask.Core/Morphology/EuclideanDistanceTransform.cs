using System.Numerics.Tensors;
using EmMask.Core.Volumes;

namespace EmMask.Core.Morphology;

/// <summary>
/// Exact Euclidean distance transform of a mask (separable lower envelope of parabolas, Felzenszwalb–Huttenlocher),
/// with anisotropic spacing taken from <see cref="Volume{T}.VoxelSize"/>. Matches
/// <c>scipy.ndimage.distance_transform_edt(mask, sampling=voxel_size)</c> wherever the mask holds background.
/// </summary>
public static class EuclideanDistanceTransform
{
    /// <summary>
    /// For each voxel where <paramref name="mask"/> is nonzero, the physical distance to the nearest zero voxel; 0 on zero voxels.
    /// Voxels outside the volume are not background (as in scipy). A mask with no zero voxel at all gives
    /// <see cref="float.PositiveInfinity"/> everywhere (scipy returns distances to a phantom point outside the array there).
    /// </summary>
    /// <param name="mask">Mask; nonzero = foreground. Axis lengths of 1 are fine.</param>
    /// <param name="ct">Cancels the work.</param>
    public static Volume<float> Compute(Volume<byte> mask, CancellationToken ct = default)
    {
        var result = ComputeSquared(mask, ct);
        TensorPrimitives.Sqrt(result.Span, result.Span);
        return result;
    }

    /// <summary>As <see cref="Compute"/> but returns squared distances (cheaper, and exact integers for unit spacing up to 2²⁴).</summary>
    public static Volume<float> ComputeSquared(Volume<byte> mask, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(mask);
        var result = mask.Like<float>();
        SquaredDistance(mask.Memory, mask.Shape, mask.VoxelSize, sourceIsNonzero: false, planar: false, result.Memory, ct);
        return result;
    }

    /// <summary>
    /// Squared physical distance from every voxel to the nearest source voxel (nonzero voxels when
    /// <paramref name="sourceIsNonzero"/>, else zero voxels), +∞ where none exists. With <paramref name="planar"/>
    /// each z slice is transformed on its own (2D, spacing y and x).
    /// </summary>
    internal static void SquaredDistance(Memory<byte> mask, Shape3 shape, VoxelSize spacing, bool sourceIsNonzero, bool planar, Memory<float> output, CancellationToken ct)
    {
        if (shape.IsEmpty)
        {
            return;
        }

        var options = new ParallelOptions { CancellationToken = ct };
        int rows = shape.Z * shape.Y;
        int width = shape.X;
        double sx = spacing.X;

        // Axis x: two scans give the distance to the nearest source within the row.
        Parallel.For(0, rows, options, r =>
        {
            var line = mask.Span.Slice(r * width, width);
            var dest = output.Span.Slice(r * width, width);
            int last = -1;
            for (int x = 0; x < width; x++)
            {
                if ((line[x] != 0) == sourceIsNonzero)
                {
                    last = x;
                }

                dest[x] = last < 0 ? float.PositiveInfinity : (float)Square((x - last) * sx);
            }

            last = -1;
            for (int x = width - 1; x >= 0; x--)
            {
                if ((line[x] != 0) == sourceIsNonzero)
                {
                    last = x;
                }

                if (last >= 0)
                {
                    float d = (float)Square((last - x) * sx);
                    if (d < dest[x])
                    {
                        dest[x] = d;
                    }
                }
            }
        });

        if (shape.Y > 1)
        {
            // Axis y, one slice per task: the slice stays in cache while its columns are gathered.
            Parallel.For(0, shape.Z, options, () => new ParabolaEnvelope(shape.Y), (z, _, env) =>
            {
                var slice = output.Span.Slice(z * shape.SliceLength, shape.SliceLength);
                for (int x = 0; x < width; x++)
                {
                    TransformStrided(slice, x, width, shape.Y, spacing.Y, env);
                }

                return env;
            }, _ => { });
        }

        if (!planar && shape.Z > 1)
        {
            // Axis z, one y row per task: neighbouring x columns share cache lines.
            int sliceLength = shape.SliceLength;
            Parallel.For(0, shape.Y, options, () => new ParabolaEnvelope(shape.Z), (y, _, env) =>
            {
                var all = output.Span;
                for (int x = 0; x < width; x++)
                {
                    TransformStrided(all, (y * width) + x, sliceLength, shape.Z, spacing.Z, env);
                }

                return env;
            }, _ => { });
        }
    }

    private static void TransformStrided(Span<float> data, int start, int stride, int n, double spacing, ParabolaEnvelope env)
    {
        var input = env.Input;
        bool any = false;
        for (int i = 0, p = start; i < n; i++, p += stride)
        {
            float v = data[p];
            input[i] = v;
            any |= !float.IsPositiveInfinity(v);
        }

        if (!any)
        {
            return; // stays +∞
        }

        env.Run(n, spacing);
        var outLine = env.Output;
        for (int i = 0, p = start; i < n; i++, p += stride)
        {
            data[p] = (float)outLine[i];
        }
    }

    private static double Square(double v) => v * v;
}

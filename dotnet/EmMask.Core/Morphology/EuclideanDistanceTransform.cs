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
    /// each z slice is transformed on its own (2D, spacing y and x). Squared distances above <paramref name="limit"/> are
    /// reported as +∞: later axes only add to a value, so such voxels can never come back under the limit, and lines
    /// that hold nothing but sources and +∞ are skipped. Thresholding callers pass their r² to save most of the work.
    /// </summary>
    internal static void SquaredDistance(Memory<byte> mask, Shape3 shape, VoxelSize spacing, bool sourceIsNonzero, bool planar, Memory<float> output, CancellationToken ct, float limit = float.PositiveInfinity)
    {
        if (shape.IsEmpty)
        {
            return;
        }

        var options = new ParallelOptions { CancellationToken = ct };
        int rows = shape.Z * shape.Y;
        int width = shape.X;
        double sx = spacing.X;

        // Axis x: two scans give the distance to the nearest source within the row, squared through a table.
        var squares = new float[width + 1];
        for (int d = 0; d < squares.Length; d++)
        {
            float square = (float)Square(d * sx);
            squares[d] = square <= limit ? square : float.PositiveInfinity;
        }

        Parallel.For(0, shape.Z, options, z =>
        {
            for (int r = z * shape.Y; r < (z + 1) * shape.Y; r++)
            {
                RowPass(mask.Span.Slice(r * width, width), output.Span.Slice(r * width, width), squares, sourceIsNonzero);
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
                    TransformStrided(slice, x, width, shape.Y, spacing.Y, env, limit);
                }

                return env;
            }, _ => { });
        }

        if (!planar && shape.Z > 1)
        {
            // Axis z, one y row per task: the (z, x) plane is copied row by row into a tile first, because
            // gathering a z column straight from the volume touches one page per element.
            Parallel.For(0, shape.Y, options, () => (Env: new ParabolaEnvelope(shape.Z), Tile: new float[shape.Z * width]), (y, _, local) =>
            {
                var all = output.Span;
                var tile = local.Tile.AsSpan();
                for (int z = 0; z < shape.Z; z++)
                {
                    all.Slice((int)shape.Index(z, y, 0), width).CopyTo(tile.Slice(z * width, width));
                }

                for (int x = 0; x < width; x++)
                {
                    TransformStrided(tile, x, width, shape.Z, spacing.Z, local.Env, limit);
                }

                for (int z = 0; z < shape.Z; z++)
                {
                    tile.Slice(z * width, width).CopyTo(all.Slice((int)shape.Index(z, y, 0), width));
                }

                return local;
            }, _ => { });
        }
    }

    private static void TransformStrided(Span<float> data, int start, int stride, int n, double spacing, ParabolaEnvelope env, float limit)
    {
        var input = env.Input;
        bool anyInfinite = false, anyPartial = false;
        for (int i = 0, p = start; i < n; i++, p += stride)
        {
            float v = data[p];
            input[i] = v;
            anyInfinite |= float.IsPositiveInfinity(v);
            anyPartial |= v != 0 && !float.IsPositiveInfinity(v);
        }

        if (!anyInfinite && !anyPartial)
        {
            return; // all sources: already final
        }

        double[] result;
        if (anyPartial)
        {
            env.Run(n, spacing);
            result = env.Output;
        }
        else
        {
            // Only sources and +∞ (common after clamping): the distance along the line to the nearest source is exact
            // and two scans are much cheaper than the envelope.
            result = env.Output;
            if (!NearestSourceAlongLine(input, result, n, spacing))
            {
                return; // all +∞
            }
        }

        for (int i = 0, p = start; i < n; i++, p += stride)
        {
            float v = (float)result[i];
            data[p] = v <= limit ? v : float.PositiveInfinity;
        }
    }

    // Input values are 0 (source) or +∞; returns false when there is no source.
    private static bool NearestSourceAlongLine(double[] input, double[] output, int n, double spacing)
    {
        int last = -1;
        for (int i = 0; i < n; i++)
        {
            if (input[i] == 0)
            {
                last = i;
            }

            output[i] = last < 0 ? double.PositiveInfinity : Square((i - last) * spacing);
        }

        if (last < 0)
        {
            return false;
        }

        int next = last;
        for (int i = last; i >= 0; i--)
        {
            if (input[i] == 0)
            {
                next = i;
            }

            double d = Square((next - i) * spacing);
            if (d < output[i])
            {
                output[i] = d;
            }
        }

        return true;
    }

    private static void RowPass(ReadOnlySpan<byte> line, Span<float> dest, float[] squares, bool sourceIsNonzero)
    {
        int width = line.Length;
        int last = -1;
        for (int x = 0; x < width; x++)
        {
            if ((line[x] != 0) == sourceIsNonzero)
            {
                last = x;
            }

            dest[x] = last < 0 ? float.PositiveInfinity : squares[x - last];
        }

        if (last < 0)
        {
            return; // no source in the row: +∞ throughout
        }

        // Backward scan only up to the last source: beyond it the forward distance is already the nearest.
        int next = -1;
        for (int x = last; x >= 0; x--)
        {
            if ((line[x] != 0) == sourceIsNonzero)
            {
                next = x;
            }

            float d = squares[next - x];
            if (d < dest[x])
            {
                dest[x] = d;
            }
        }
    }

    private static double Square(double v) => v * v;
}

using System.Buffers;
using System.Numerics.Tensors;
using EmMask.Core.Filters;
using EmMask.Core.Volumes;

namespace EmMask.Core.Masking;

/// <summary>
/// The smallest eigenvalue of the structure tensor J = G(σ_texture) · (∇d ∇dᵀ + ∇s ∇sᵀ) of a band-passed image d and a
/// smoothed image s, with gradients in noise units. It is large only where texture varies in every orientation (neuropil,
/// cell bodies) and small for sheets and lines: flat resin, curtaining streaks, knife chatter, and smooth walls such as those
/// of tracheae. A volume with one z slice uses the 2D (y, x) tensor.
/// </summary>
internal static class StructureTensor
{
    /// <summary>Computes λ_min per voxel into <paramref name="destination"/>. d and s are not changed.</summary>
    public static void SmallestEigenvalue(Volume<float> d, Volume<float> s, float dScale, float sScale, double textureSigma, Volume<float> destination, CancellationToken ct)
    {
        var shape = d.Shape;
        bool planar = shape.Z == 1;
        int count = planar ? 3 : 6;
        var pooled = new PooledVolume[count];
        for (int i = 0; i < count; i++)
        {
            pooled[i] = PooledVolume.Like(d);
        }

        try
        {
            Compute(d, s, dScale, sScale, textureSigma, pooled.Select(p => p.Volume).ToArray(), planar, destination, ct);
        }
        finally
        {
            foreach (var p in pooled)
            {
                p.Dispose();
            }
        }
    }

    private static void Compute(Volume<float> d, Volume<float> s, float dScale, float sScale, double textureSigma, Volume<float>[] components, bool planar, Volume<float> destination, CancellationToken ct)
    {
        var shape = d.Shape;

        Products(d, s, dScale, sScale, components, planar, ct);
        var sigma = planar ? new Sigma3(0, textureSigma, textureSigma) : Sigma3.Isotropic(textureSigma);
        foreach (var c in components)
        {
            GaussianFilter.Apply(c, c, sigma, cancellationToken: ct);
        }

        // Chunks of 4096 voxels keep the eleven working arrays in cache.
        const int Chunk = 4096;
        long total = shape.Length;
        int chunks = (int)((total + Chunk - 1) / Chunk);
        Parallel.For(0, chunks, new ParallelOptions { CancellationToken = ct }, k =>
        {
            int start = k * Chunk;
            int n = (int)Math.Min(Chunk, total - start);
            if (planar)
            {
                Eigen2(components[0].Span.Slice(start, n), components[1].Span.Slice(start, n), components[2].Span.Slice(start, n), n);
            }
            else
            {
                Eigen3(components, start, n);
            }

            components[0].Span.Slice(start, n).CopyTo(destination.Span.Slice(start, n));
        });
    }

    // Outer products of the scaled central-difference gradients (numpy.gradient borders), summed over d and s.
    // Gradients are formed a row at a time into scratch rows, so every step is a vectorised span operation.
    private static void Products(Volume<float> dv, Volume<float> sv, float dScale, float sScale, Volume<float>[] j, bool planar, CancellationToken ct)
    {
        var shape = dv.Shape;
        int plane = shape.SliceLength;
        int width = shape.X;
        Parallel.For(0, shape.Z, new ParallelOptions { CancellationToken = ct }, z =>
        {
            var pool = ArrayPool<float>.Shared;
            var scratch = pool.Rent(7 * width);
            var d = dv.Span;
            var s = sv.Span;
            var dz = scratch.AsSpan(0, width);
            var dy = scratch.AsSpan(width, width);
            var dx = scratch.AsSpan(2 * width, width);
            var sz = scratch.AsSpan(3 * width, width);
            var sy = scratch.AsSpan(4 * width, width);
            var sx = scratch.AsSpan(5 * width, width);
            var t = scratch.AsSpan(6 * width, width);
            int z0 = z > 0 ? z - 1 : z, z1 = z < shape.Z - 1 ? z + 1 : z;
            float zScale = Step(z0, z1);
            for (int y = 0; y < shape.Y; y++)
            {
                int y0 = y > 0 ? y - 1 : y, y1 = y < shape.Y - 1 ? y + 1 : y;
                float yScale = Step(y0, y1);
                int row = (z * plane) + (y * width);
                Difference(d.Slice((z * plane) + (y1 * width), width), d.Slice((z * plane) + (y0 * width), width), yScale * dScale, dy);
                Difference(s.Slice((z * plane) + (y1 * width), width), s.Slice((z * plane) + (y0 * width), width), yScale * sScale, sy);
                AlongRow(d.Slice(row, width), dScale, dx);
                AlongRow(s.Slice(row, width), sScale, sx);
                if (planar)
                {
                    Outer(dy, dy, sy, sy, t, j[0].Span.Slice(row, width));
                    Outer(dx, dx, sx, sx, t, j[1].Span.Slice(row, width));
                    Outer(dy, dx, sy, sx, t, j[2].Span.Slice(row, width));
                    continue;
                }

                Difference(d.Slice((z1 * plane) + (y * width), width), d.Slice((z0 * plane) + (y * width), width), zScale * dScale, dz);
                Difference(s.Slice((z1 * plane) + (y * width), width), s.Slice((z0 * plane) + (y * width), width), zScale * sScale, sz);
                Outer(dz, dz, sz, sz, t, j[0].Span.Slice(row, width));
                Outer(dy, dy, sy, sy, t, j[1].Span.Slice(row, width));
                Outer(dx, dx, sx, sx, t, j[2].Span.Slice(row, width));
                Outer(dz, dy, sz, sy, t, j[3].Span.Slice(row, width));
                Outer(dz, dx, sz, sx, t, j[4].Span.Slice(row, width));
                Outer(dy, dx, sy, sx, t, j[5].Span.Slice(row, width));
            }

            pool.Return(scratch);
        });
    }

    // destination = (after − before) · scale
    private static void Difference(ReadOnlySpan<float> after, ReadOnlySpan<float> before, float scale, Span<float> destination)
    {
        TensorPrimitives.Subtract(after, before, destination);
        TensorPrimitives.Multiply(destination, scale, destination);
    }

    // numpy.gradient along a row: central differences inside, one-sided at the ends, 0 for a single voxel.
    private static void AlongRow(ReadOnlySpan<float> row, float scale, Span<float> destination)
    {
        int n = row.Length;
        if (n == 1)
        {
            destination[0] = 0;
            return;
        }

        if (n > 2)
        {
            Difference(row[2..], row[..^2], 0.5f * scale, destination[1..^1]);
        }

        destination[0] = (row[1] - row[0]) * scale;
        destination[n - 1] = (row[n - 1] - row[n - 2]) * scale;
    }

    // destination = a·b + c·e
    private static void Outer(ReadOnlySpan<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> c, ReadOnlySpan<float> e, Span<float> scratch, Span<float> destination)
    {
        TensorPrimitives.Multiply(c, e, scratch);
        TensorPrimitives.MultiplyAdd(a, b, scratch, destination);
    }

    // numpy.gradient: half the central difference inside, the one-sided difference at a border, 0 on a length-1 axis.
    private static float Step(int lo, int hi) => hi - lo == 2 ? 0.5f : (hi == lo ? 0f : 1f);

    // λ_min of [[a, c], [c, b]] = (a + b)/2 − √(((a − b)/2)² + c²), written into a.
    private static void Eigen2(Span<float> a, Span<float> b, Span<float> c, int n)
    {
        var pool = ArrayPool<float>.Shared;
        var half = pool.Rent(n);
        var root = pool.Rent(n);
        var h = half.AsSpan(0, n);
        var r = root.AsSpan(0, n);
        TensorPrimitives.Subtract(a, b, h);
        TensorPrimitives.Multiply(h, 0.5f, h);
        TensorPrimitives.Multiply(h, h, r);
        TensorPrimitives.MultiplyAdd(c, c, r, r);
        TensorPrimitives.Sqrt(r, r);
        TensorPrimitives.Add(a, b, a);
        TensorPrimitives.Multiply(a, 0.5f, a);
        TensorPrimitives.Subtract(a, r, a);
        pool.Return(half);
        pool.Return(root);
    }

    // λ_min of the symmetric 3×3 [[a, d, e], [d, b, f], [e, f, c]] by the trigonometric closed form, written into a.
    private static void Eigen3(Volume<float>[] j, int start, int n)
    {
        var a = j[0].Span.Slice(start, n);
        var b = j[1].Span.Slice(start, n);
        var c = j[2].Span.Slice(start, n);
        var d = j[3].Span.Slice(start, n);
        var e = j[4].Span.Slice(start, n);
        var f = j[5].Span.Slice(start, n);
        var pool = ArrayPool<float>.Shared;
        var buffers = new float[6][];
        for (int i = 0; i < buffers.Length; i++)
        {
            buffers[i] = pool.Rent(n);
        }

        var q = buffers[0].AsSpan(0, n);
        var p = buffers[1].AsSpan(0, n);
        var det = buffers[2].AsSpan(0, n);
        var t = buffers[3].AsSpan(0, n);
        var u = buffers[4].AsSpan(0, n);

        // q = trace/3; the diagonal of M − qI overwrites a, b, c.
        TensorPrimitives.Add(a, b, q);
        TensorPrimitives.Add(q, c, q);
        TensorPrimitives.Multiply(q, 1f / 3f, q);
        TensorPrimitives.Subtract(a, q, a);
        TensorPrimitives.Subtract(b, q, b);
        TensorPrimitives.Subtract(c, q, c);

        // p = √(tr((M − qI)²)/6)
        TensorPrimitives.Multiply(d, d, p);
        TensorPrimitives.MultiplyAdd(e, e, p, p);
        TensorPrimitives.MultiplyAdd(f, f, p, p);
        TensorPrimitives.Multiply(p, 2f, p);
        TensorPrimitives.MultiplyAdd(a, a, p, p);
        TensorPrimitives.MultiplyAdd(b, b, p, p);
        TensorPrimitives.MultiplyAdd(c, c, p, p);
        TensorPrimitives.Multiply(p, 1f / 6f, p);
        TensorPrimitives.Max(p, 1e-30f, p);
        TensorPrimitives.Sqrt(p, p);

        // det(M − qI) = a(bc − f²) − d(dc − fe) + e(df − be)
        TensorPrimitives.Multiply(b, c, t);
        TensorPrimitives.Multiply(f, f, u);
        TensorPrimitives.Subtract(t, u, t);
        TensorPrimitives.Multiply(a, t, det);
        TensorPrimitives.Multiply(d, c, t);
        TensorPrimitives.Multiply(f, e, u);
        TensorPrimitives.Subtract(t, u, t);
        TensorPrimitives.Multiply(d, t, t);
        TensorPrimitives.Subtract(det, t, det);
        TensorPrimitives.Multiply(d, f, t);
        TensorPrimitives.Multiply(b, e, u);
        TensorPrimitives.Subtract(t, u, t);
        TensorPrimitives.MultiplyAdd(e, t, det, det);

        // r = det / (2p³), clamped; λ_min = q + 2p·cos(acos(r)/3 + 2π/3)
        TensorPrimitives.Multiply(p, p, t);
        TensorPrimitives.Multiply(t, p, t);
        TensorPrimitives.Multiply(t, 2f, t);
        TensorPrimitives.Divide(det, t, det);
        TensorPrimitives.Max(det, -1f, det);
        TensorPrimitives.Min(det, 1f, det);
        TensorPrimitives.Acos(det, det);
        TensorPrimitives.Multiply(det, 1f / 3f, det);
        TensorPrimitives.Add(det, 2f * MathF.PI / 3f, det);
        TensorPrimitives.Cos(det, det);
        TensorPrimitives.Multiply(det, p, det);
        TensorPrimitives.Multiply(det, 2f, det);
        TensorPrimitives.Add(q, det, a);
        foreach (var buffer in buffers)
        {
            pool.Return(buffer);
        }
    }
}

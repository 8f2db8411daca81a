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
    /// <summary>Computes λ_min per voxel into a new volume. d and s are not changed.</summary>
    public static Volume<float> SmallestEigenvalue(Volume<float> d, Volume<float> s, float dScale, float sScale, double textureSigma, CancellationToken ct)
    {
        var shape = d.Shape;
        bool planar = shape.Z == 1;
        int count = planar ? 3 : 6;
        var components = new Volume<float>[count];
        for (int i = 0; i < count; i++)
        {
            components[i] = d.Like<float>();
        }

        Products(d, s, dScale, sScale, components, planar, ct);
        var sigma = planar ? new Sigma3(0, textureSigma, textureSigma) : Sigma3.Isotropic(textureSigma);
        foreach (var c in components)
        {
            GaussianFilter.Apply(c, c, sigma, cancellationToken: ct);
        }

        var result = components[0];
        Parallel.For(0, shape.Z, new ParallelOptions { CancellationToken = ct }, z =>
        {
            int n = shape.SliceLength;
            if (planar)
            {
                Eigen2(components[0].Slice(z), components[1].Slice(z), components[2].Slice(z), n);
            }
            else
            {
                Eigen3(components, z, n);
            }
        });
        return result;
    }

    // Outer products of the scaled central-difference gradients (numpy.gradient borders), summed over d and s.
    private static void Products(Volume<float> dv, Volume<float> sv, float dScale, float sScale, Volume<float>[] j, bool planar, CancellationToken ct)
    {
        var shape = dv.Shape;
        int plane = shape.SliceLength;
        Parallel.For(0, shape.Z, new ParallelOptions { CancellationToken = ct }, z =>
        {
            var d = dv.Span;
            var s = sv.Span;
            var j0 = j[0].Span;
            var j1 = j[1].Span;
            var j2 = j[2].Span;
            var j3 = planar ? default : j[3].Span;
            var j4 = planar ? default : j[4].Span;
            var j5 = planar ? default : j[5].Span;
            int z0 = z > 0 ? z - 1 : z, z1 = z < shape.Z - 1 ? z + 1 : z;
            float zScale = Step(z0, z1);
            for (int y = 0; y < shape.Y; y++)
            {
                int y0 = y > 0 ? y - 1 : y, y1 = y < shape.Y - 1 ? y + 1 : y;
                float yScale = Step(y0, y1);
                int row = (z * plane) + (y * shape.X);
                int rowZ0 = (z0 * plane) + (y * shape.X), rowZ1 = (z1 * plane) + (y * shape.X);
                int rowY0 = (z * plane) + (y0 * shape.X), rowY1 = (z * plane) + (y1 * shape.X);
                for (int x = 0; x < shape.X; x++)
                {
                    int x0 = x > 0 ? x - 1 : x, x1 = x < shape.X - 1 ? x + 1 : x;
                    float xScale = Step(x0, x1);
                    int i = row + x;
                    float dy = (d[rowY1 + x] - d[rowY0 + x]) * yScale * dScale;
                    float dx = (d[row + x1] - d[row + x0]) * xScale * dScale;
                    float sy = (s[rowY1 + x] - s[rowY0 + x]) * yScale * sScale;
                    float sx = (s[row + x1] - s[row + x0]) * xScale * sScale;
                    if (planar)
                    {
                        j0[i] = (dy * dy) + (sy * sy);
                        j1[i] = (dx * dx) + (sx * sx);
                        j2[i] = (dy * dx) + (sy * sx);
                        continue;
                    }

                    float dz = (d[rowZ1 + x] - d[rowZ0 + x]) * zScale * dScale;
                    float sz = (s[rowZ1 + x] - s[rowZ0 + x]) * zScale * sScale;
                    j0[i] = (dz * dz) + (sz * sz);
                    j1[i] = (dy * dy) + (sy * sy);
                    j2[i] = (dx * dx) + (sx * sx);
                    j3[i] = (dz * dy) + (sz * sy);
                    j4[i] = (dz * dx) + (sz * sx);
                    j5[i] = (dy * dx) + (sy * sx);
                }
            }
        });
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
    private static void Eigen3(Volume<float>[] j, int z, int n)
    {
        var a = j[0].Slice(z);
        var b = j[1].Slice(z);
        var c = j[2].Slice(z);
        var d = j[3].Slice(z);
        var e = j[4].Slice(z);
        var f = j[5].Slice(z);
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

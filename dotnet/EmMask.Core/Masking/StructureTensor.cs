using System.Buffers;
using System.Runtime.CompilerServices;
using System.Numerics;
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
internal static unsafe class StructureTensor
{
    /// <summary>Computes λ_min per voxel into <paramref name="destination"/>. d and s are not changed.</summary>
    /// <remarks>
    /// Two sweeps over memory. (1) Per z slice: the gradient products of that slice, smoothed along y and x while still in
    /// cache, written to one volume per component. (2) Per column block: each component gathered and smoothed along z into
    /// cache-sized scratch, and the eigenvalue taken there. The six unsmoothed product volumes of a textbook implementation,
    /// and four of its six full-volume passes per component, never exist.
    /// </remarks>
    public static void SmallestEigenvalue(Volume<float> d, Volume<float> s, float dScale, float sScale, double textureSigma, Volume<float> destination, CancellationToken ct)
    {
        var shape = d.Shape;
        bool planar = shape.Z == 1;
        int count = planar ? 3 : 6;
        var pooled = new PooledVolume[count];
        var handles = new System.Buffers.MemoryHandle[count + 3];
        try
        {
            var components = new nint[count];
            for (int i = 0; i < count; i++)
            {
                pooled[i] = PooledVolume.Like(d);
                handles[i] = pooled[i].Volume.Memory.Pin();
                components[i] = (nint)handles[i].Pointer;
            }

            handles[count] = d.Memory.Pin();
            handles[count + 1] = s.Memory.Pin();
            handles[count + 2] = destination.Memory.Pin();
            var kernel = GaussianKernel.Create(textureSigma, 0, GaussianFilter.DefaultTruncate);
            var ky = SeparableFilter.Effective(kernel, shape.Y);
            var kx = SeparableFilter.Effective(kernel, shape.X);
            var slices = new ProductSlicePass(
                (float*)handles[count].Pointer, (float*)handles[count + 1].Pointer, dScale, sScale, shape, planar, components, ky, kx);
            ParallelLines.For(shape.Z, slices, ct);

            float* output = (float*)handles[count + 2].Pointer;
            if (planar)
            {
                var j = pooled.Select(p => p.Volume).ToArray();
                ParallelChunks.For((int)shape.Length, (start, n) =>
                {
                    Eigen2(j[0].Span.Slice(start, n), j[1].Span.Slice(start, n), j[2].Span.Slice(start, n), n);
                    j[0].Span.Slice(start, n).CopyTo(destination.Span.Slice(start, n));
                }, ct);
                return;
            }

            var columns = new ColumnEigenPass(components, output, shape, SeparableFilter.Effective(kernel, shape.Z));
            ParallelLines.For(columns.Units, columns, ct);
        }
        finally
        {
            foreach (var h in handles)
            {
                h.Dispose();
            }

            foreach (var p in pooled)
            {
                p?.Dispose();
            }
        }
    }

    /// <summary>One z slice: gradient products into scratch planes, then each plane smoothed along y and x into its component volume.</summary>
    private readonly struct ProductSlicePass(float* d, float* s, float dScale, float sScale, Shape3 shape, bool planar, nint[] components, AxisKernel? ky, AxisKernel? kx)
        : ILineOperation
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Invoke(int z, LineScratch scratch)
        {
            int ny = shape.Y, nx = shape.X, plane = ny * nx;
            int count = components.Length;
            long length = shape.Length;
            var dSpan = new ReadOnlySpan<float>(d, checked((int)length));
            var sSpan = new ReadOnlySpan<float>(s, checked((int)length));
            fixed (float* products = scratch.Copy(count * plane))
            fixed (float* gradients = scratch.SecondCopy(7 * nx))
            fixed (float* block = scratch.Block(SeparableFilter.FusedBlockRows * nx))
            fixed (float* line = scratch.Line((kx?.Before ?? 0) + nx + (kx?.After ?? 0)))
            fixed (nint* rows = scratch.Rows((ky?.Before ?? 0) + ny + (ky?.After ?? 0)))
            {
                var productSpan = new Span<float>(products, count * plane);
                var gradientSpan = new Span<float>(gradients, 7 * nx);
                for (int y = 0; y < ny; y++)
                {
                    ProductRows(dSpan, sSpan, dScale, sScale, shape, z, y, planar, gradientSpan, productSpan[(y * nx)..], plane);
                }

                for (int c = 0; c < count; c++)
                {
                    float* target = (float*)components[c] + ((long)z * plane);
                    SeparableFilter.SmoothSlice(products + ((long)c * plane), target, ky, kx, ny, nx, (float**)rows, block, line, scratch);
                }
            }
        }
    }

    /// <summary>One column block (a row y, a range of x, every z): each component gathered and smoothed along z into scratch, then λ_min.</summary>
    private readonly struct ColumnEigenPass : ILineOperation
    {
        private const int BlockFloats = 1 << 14; // per component: seven such blocks stay within a 1 MB L2

        private readonly nint[] components;
        private readonly float* output;
        private readonly Shape3 shape;
        private readonly AxisKernel? kz;
        private readonly int blockWidth;
        private readonly int blocksPerRow;

        public ColumnEigenPass(nint[] components, float* output, Shape3 shape, AxisKernel? kz)
        {
            this.components = components;
            this.output = output;
            this.shape = shape;
            this.kz = kz;
            int lanes = System.Numerics.Vector<float>.Count;
            blockWidth = Math.Min(shape.X, Math.Max(lanes, BlockFloats / Math.Max(shape.Z, 1) / lanes * lanes));
            blocksPerRow = (shape.X + blockWidth - 1) / blockWidth;
            Units = shape.Y * blocksPerRow;
        }

        public int Units { get; }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Invoke(int index, LineScratch scratch)
        {
            int y = index / blocksPerRow;
            int x0 = index % blocksPerRow * blockWidth;
            int w = Math.Min(blockWidth, shape.X - x0);
            int nz = shape.Z;
            long plane = (long)shape.Y * shape.X;
            long offset = ((long)y * shape.X) + x0;
            int block = nz * w;
            int before = kz?.Before ?? 0, after = kz?.After ?? 0;
            fixed (float* gather = scratch.Copy(block))
            fixed (float* smoothed = scratch.Block(6 * block))
            fixed (nint* rowAddresses = scratch.Rows(before + nz + after))
            {
                float** rows = (float**)rowAddresses;
                for (int c = 0; c < 6; c++)
                {
                    float* source = (float*)components[c] + offset;
                    float* target = kz is null ? smoothed + ((long)c * block) : gather;
                    for (int z = 0; z < nz; z++)
                    {
                        new ReadOnlySpan<float>(source + (z * plane), w).CopyTo(new Span<float>(target + ((long)z * w), w));
                    }

                    if (kz is not null)
                    {
                        SeparableFilter.ExtendRows(rows, gather, w, nz, before, after);
                        kz.ConvolveRows(rows, nz, w, smoothed + ((long)c * block), w, scratch);
                    }
                }

                Eigen3(smoothed, block);
                for (int z = 0; z < nz; z++)
                {
                    new ReadOnlySpan<float>(smoothed + ((long)z * w), w).CopyTo(new Span<float>(output + offset + (z * plane), w));
                }
            }
        }
    }

    /// <summary>
    /// The gradient outer products at row (z, y): J_zz, J_yy, J_xx, J_zy, J_zx, J_yx (planar: J_yy, J_xx, J_yx), component c
    /// written to destination[c·componentStride ..]. <paramref name="scratch"/> holds at least 7·X floats.
    /// </summary>
    private static void ProductRows(ReadOnlySpan<float> d, ReadOnlySpan<float> s, float dScale, float sScale, Shape3 shape, int z, int y, bool planar,
                                    Span<float> scratch, Span<float> destination, int componentStride)
    {
        int plane = shape.SliceLength;
        int width = shape.X;
        var dz = scratch[..width];
        var dy = scratch.Slice(width, width);
        var dx = scratch.Slice(2 * width, width);
        var sz = scratch.Slice(3 * width, width);
        var sy = scratch.Slice(4 * width, width);
        var sx = scratch.Slice(5 * width, width);
        var t = scratch.Slice(6 * width, width);
        int z0 = z > 0 ? z - 1 : z, z1 = z < shape.Z - 1 ? z + 1 : z;
        int y0 = y > 0 ? y - 1 : y, y1 = y < shape.Y - 1 ? y + 1 : y;
        float yScale = Step(y0, y1);
        int row = (z * plane) + (y * width);
        Difference(d.Slice((z * plane) + (y1 * width), width), d.Slice((z * plane) + (y0 * width), width), yScale * dScale, dy);
        Difference(s.Slice((z * plane) + (y1 * width), width), s.Slice((z * plane) + (y0 * width), width), yScale * sScale, sy);
        AlongRow(d.Slice(row, width), dScale, dx);
        AlongRow(s.Slice(row, width), sScale, sx);
        if (planar)
        {
            Outer(dy, dy, sy, sy, t, destination[..width]);
            Outer(dx, dx, sx, sx, t, destination.Slice(1 * componentStride, width));
            Outer(dy, dx, sy, sx, t, destination.Slice(2 * componentStride, width));
            return;
        }

        float zScale = Step(z0, z1);
        Difference(d.Slice((z1 * plane) + (y * width), width), d.Slice((z0 * plane) + (y * width), width), zScale * dScale, dz);
        Difference(s.Slice((z1 * plane) + (y * width), width), s.Slice((z0 * plane) + (y * width), width), zScale * sScale, sz);
        Outer(dz, dz, sz, sz, t, destination[..width]);
        Outer(dy, dy, sy, sy, t, destination.Slice(1 * componentStride, width));
        Outer(dx, dx, sx, sx, t, destination.Slice(2 * componentStride, width));
        Outer(dz, dy, sz, sy, t, destination.Slice(3 * componentStride, width));
        Outer(dz, dx, sz, sx, t, destination.Slice(4 * componentStride, width));
        Outer(dy, dx, sy, sx, t, destination.Slice(5 * componentStride, width));
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

    // λ_min of the symmetric 3×3 [[a, d, e], [d, b, f], [e, f, c]] for n voxels whose six components lie n apart from
    // j, written over the first: whole vectors, then the tail padded into one vector, so every voxel goes through the
    // same arithmetic wherever it falls.
    private static void Eigen3(float* j, int n)
    {
        var a = new Span<float>(j, n);
        var b = new Span<float>(j + n, n);
        var c = new Span<float>(j + (2 * n), n);
        var d = new Span<float>(j + (3 * n), n);
        var e = new Span<float>(j + (4 * n), n);
        var f = new Span<float>(j + (5 * n), n);
        int lanes = Vector<float>.Count;
        int i = 0;
        for (; i <= n - lanes; i += lanes)
        {
            SymmetricEigen.Smallest(
                new Vector<float>(a[i..]), new Vector<float>(b[i..]), new Vector<float>(c[i..]),
                new Vector<float>(d[i..]), new Vector<float>(e[i..]), new Vector<float>(f[i..])).CopyTo(a[i..]);
        }

        if (i < n)
        {
            Span<float> tail = stackalloc float[6 * lanes];
            tail.Clear();
            int m = n - i;
            a[i..].CopyTo(tail);
            b[i..].CopyTo(tail[lanes..]);
            c[i..].CopyTo(tail[(2 * lanes)..]);
            d[i..].CopyTo(tail[(3 * lanes)..]);
            e[i..].CopyTo(tail[(4 * lanes)..]);
            f[i..].CopyTo(tail[(5 * lanes)..]);
            var result = SymmetricEigen.Smallest(
                new Vector<float>(tail), new Vector<float>(tail[lanes..]), new Vector<float>(tail[(2 * lanes)..]),
                new Vector<float>(tail[(3 * lanes)..]), new Vector<float>(tail[(4 * lanes)..]), new Vector<float>(tail[(5 * lanes)..]));
            result.CopyTo(tail);
            tail[..m].CopyTo(a[i..]);
        }
    }
}

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
    /// <summary>Output slices per slab of the z sweep.</summary>
    private const int SlabSlices = 16;

    /// <summary>Floor of λ_min before a logarithm: keeps flat regions finite.</summary>
    public const float LogFloor = 1e-20f;

    /// <summary>
    /// Computes λ_min per voxel into <paramref name="destination"/>, or, given <paramref name="logRatioOffset"/>,
    /// ½·log(max(λ_min, <see cref="LogFloor"/>)) + offset (the same values as that map applied afterwards, one pass fewer
    /// over the volume). d and s are not changed. With <paramref name="isotropy"/> ρ₀ &gt; 0, λ_min is first scaled by
    /// min(1, λ_min / (ρ₀·λ_max))³ (<see cref="SymmetricEigen.Penalise"/>): the halo that a strong, sharp edge casts through
    /// the integration window is far less isotropic than texture.
    /// </summary>
    /// <remarks>
    /// Streams through z in slabs. (1) Per new z slice: the gradient products of that slice, smoothed along y and x while
    /// still in cache, stored in a ring of slab + 2·radius slices per component. (2) Per column block of the slab: each
    /// component gathered from the ring and smoothed along z into cache-sized scratch, and the eigenvalue taken there.
    /// The six full-size product volumes of a textbook implementation never exist: the ring is 32 slices, so memory (and,
    /// on a cold run, page faults, which cost more here than the arithmetic) stays small whatever the depth.
    /// </remarks>
    public static void SmallestEigenvalue(
        Volume<float> d, Volume<float> s, float dScale, float sScale, double textureSigma, Volume<float> destination, CancellationToken ct, float? logRatioOffset = null, float isotropy = 0)
    {
        var shape = d.Shape;
        bool planar = shape.Z == 1;
        int count = planar ? 3 : 6;
        var kernel = GaussianKernel.Create(textureSigma, 0, GaussianFilter.DefaultTruncate);
        var kz = planar ? null : SeparableFilter.Effective(kernel, shape.Z);
        int radius = kz?.Before ?? 0;
        int ringSlices = Math.Min(shape.Z, SlabSlices + (2 * radius));
        int plane = shape.SliceLength;
        var rings = new float[count][];
        var handles = new MemoryHandle[count + 3];
        try
        {
            var ring = new nint[count];
            for (int i = 0; i < count; i++)
            {
                rings[i] = ArrayPool<float>.Shared.Rent(checked(ringSlices * plane));
                handles[i] = rings[i].AsMemory().Pin();
                ring[i] = (nint)handles[i].Pointer;
            }

            handles[count] = d.Memory.Pin();
            handles[count + 1] = s.Memory.Pin();
            handles[count + 2] = destination.Memory.Pin();
            var ky = SeparableFilter.Effective(kernel, shape.Y);
            var kx = SeparableFilter.Effective(kernel, shape.X);
            float* output = (float*)handles[count + 2].Pointer;
            int computed = 0; // slices [0, computed) have been through sweep (1)
            for (int z0 = 0; z0 < shape.Z; z0 += SlabSlices)
            {
                int z1 = Math.Min(shape.Z, z0 + SlabSlices);
                int needed = Math.Min(shape.Z, z1 + radius);
                var slices = new ProductSlicePass(
                    (float*)handles[count].Pointer, (float*)handles[count + 1].Pointer, dScale, sScale, shape, planar, ring, ringSlices, computed, ky, kx);
                ParallelLines.For(needed - computed, slices, ct);
                computed = needed;

                if (planar)
                {
                    var a = new Span<float>((void*)ring[0], plane);
                    Eigen2(a, new Span<float>((void*)ring[1], plane), new Span<float>((void*)ring[2], plane), plane, isotropy);
                    a.CopyTo(destination.Span);
                    if (logRatioOffset is float logOffset)
                    {
                        ToLogRatio(destination.Span, logOffset);
                    }

                    return;
                }

                var columns = new ColumnEigenPass(ring, ringSlices, output, shape, z0, z1, kz, logRatioOffset, isotropy);
                ParallelLines.For(columns.Units, columns, ct);
            }
        }
        finally
        {
            foreach (var h in handles)
            {
                h.Dispose();
            }

            foreach (var r in rings)
            {
                if (r is not null)
                {
                    ArrayPool<float>.Shared.Return(r);
                }
            }
        }
    }

    /// <summary>Slice first + index: gradient products into scratch planes, then each plane smoothed along y and x into its ring slot.</summary>
    private readonly struct ProductSlicePass(
        float* d, float* s, float dScale, float sScale, Shape3 shape, bool planar, nint[] ring, int ringSlices, int first, AxisKernel? ky, AxisKernel? kx)
        : ILineOperation
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Invoke(int index, LineScratch scratch)
        {
            int z = first + index;
            int ny = shape.Y, nx = shape.X, plane = ny * nx;
            int count = ring.Length;
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

                long slot = (long)(z % ringSlices) * plane;
                for (int c = 0; c < count; c++)
                {
                    SeparableFilter.SmoothSlice(products + ((long)c * plane), (float*)ring[c] + slot, ky, kx, ny, nx, (float**)rows, block, line, scratch);
                }
            }
        }
    }

    /// <summary>
    /// One column block (a row y, a range of x) of the slab [z0, z1): each component gathered from the ring (reflected at
    /// the volume's ends) and smoothed along z into scratch, then λ_min written to the output.
    /// </summary>
    private readonly struct ColumnEigenPass : ILineOperation
    {
        private const int BlockFloats = 1 << 14; // per component: the gathered and the six smoothed blocks stay within L2

        private readonly nint[] ring;
        private readonly int ringSlices;
        private readonly float* output;
        private readonly Shape3 shape;
        private readonly int z0;
        private readonly int z1;
        private readonly AxisKernel? kz;
        private readonly int blockWidth;
        private readonly int blocksPerRow;
        private readonly float? logRatioOffset;
        private readonly float isotropy;

        public ColumnEigenPass(nint[] ring, int ringSlices, float* output, Shape3 shape, int z0, int z1, AxisKernel? kz, float? logRatioOffset, float isotropy)
        {
            this.logRatioOffset = logRatioOffset;
            this.isotropy = isotropy;
            this.ring = ring;
            this.ringSlices = ringSlices;
            this.output = output;
            this.shape = shape;
            this.z0 = z0;
            this.z1 = z1;
            this.kz = kz;
            int lanes = System.Numerics.Vector<float>.Count;
            int gathered = z1 - z0 + (2 * (kz?.Before ?? 0));
            blockWidth = Math.Min(shape.X, Math.Max(lanes, BlockFloats / gathered / lanes * lanes));
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
            int nz = z1 - z0;
            int radius = kz?.Before ?? 0;
            int gathered = nz + (2 * radius);
            long plane = (long)shape.Y * shape.X;
            long offset = ((long)y * shape.X) + x0;
            int block = nz * w;
            fixed (float* gather = scratch.Copy(gathered * w))
            fixed (float* smoothed = scratch.Block(6 * block))
            fixed (nint* rowAddresses = scratch.Rows(gathered))
            {
                // The rows are copied into cache first: one sequential stream per ring row is faster than letting the z
                // filter read 2·radius + 1 ring slices a whole slice apart, as measured.
                float** rows = (float**)rowAddresses;
                for (int c = 0; c < 6; c++)
                {
                    for (int i = 0; i < gathered; i++)
                    {
                        int z = Reflect.Index(z0 - radius + i, shape.Z);
                        float* source = (float*)ring[c] + ((z % ringSlices) * plane) + offset;
                        new ReadOnlySpan<float>(source, w).CopyTo(new Span<float>(gather + ((long)i * w), w));
                        rows[i] = gather + ((long)i * w);
                    }

                    if (kz is null)
                    {
                        new ReadOnlySpan<float>(gather, block).CopyTo(new Span<float>(smoothed + ((long)c * block), block));
                    }
                    else
                    {
                        kz.ConvolveRows(rows, nz, w, smoothed + ((long)c * block), w, scratch);
                    }
                }

                Eigen3(smoothed, block, isotropy);
                if (logRatioOffset is float logOffset)
                {
                    ToLogRatio(new Span<float>(smoothed, block), logOffset); // while the block is in cache
                }

                for (int z = 0; z < nz; z++)
                {
                    new ReadOnlySpan<float>(smoothed + ((long)z * w), w).CopyTo(new Span<float>(output + offset + ((z0 + z) * plane), w));
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

    // λ → ½·log(max(λ, floor)) + offset in place: the masker's log texture-to-noise ratio.
    private static void ToLogRatio(Span<float> values, float offset)
    {
        TensorPrimitives.Max(values, LogFloor, values);
        TensorPrimitives.Log(values, values);
        TensorPrimitives.Multiply(values, 0.5f, values);
        TensorPrimitives.Add(values, offset, values);
    }

    // numpy.gradient: half the central difference inside, the one-sided difference at a border, 0 on a length-1 axis.
    private static float Step(int lo, int hi) => hi - lo == 2 ? 0.5f : (hi == lo ? 0f : 1f);

    // λ_min of [[a, c], [c, b]] = (a + b)/2 − √(((a − b)/2)² + c²), written into a; penalised for anisotropy as in 3D
    // (λ_max = (a + b)/2 + √…).
    private static void Eigen2(Span<float> a, Span<float> b, Span<float> c, int n, float isotropy)
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
        if (isotropy > 0)
        {
            TensorPrimitives.Add(a, r, h); // λ_max
            TensorPrimitives.Subtract(a, r, a);
            int lanes = Vector<float>.Count;
            int i = 0;
            for (; i <= n - lanes; i += lanes)
            {
                SymmetricEigen.Penalise(new Vector<float>(a[i..]), new Vector<float>(h[i..]), isotropy).CopyTo(a[i..]);
            }

            for (; i < n; i++)
            {
                float lo = Math.Max(a[i], 0f);
                float m = Math.Min(1f, lo / Math.Max(h[i] * isotropy, 1e-30f));
                a[i] = lo * (m * m * m);
            }
        }
        else
        {
            TensorPrimitives.Subtract(a, r, a);
        }

        pool.Return(half);
        pool.Return(root);
    }

    // λ_min of the symmetric 3×3 [[a, d, e], [d, b, f], [e, f, c]] for n voxels whose six components lie n apart from
    // j, written over the first: whole vectors, then the tail padded into one vector, so every voxel goes through the
    // same arithmetic wherever it falls.
    private static void Eigen3(float* j, int n, float isotropy)
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
                new Vector<float>(d[i..]), new Vector<float>(e[i..]), new Vector<float>(f[i..]), isotropy).CopyTo(a[i..]);
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
                new Vector<float>(tail[(3 * lanes)..]), new Vector<float>(tail[(4 * lanes)..]), new Vector<float>(tail[(5 * lanes)..]), isotropy);
            result.CopyTo(tail);
            tail[..m].CopyTo(a[i..]);
        }
    }
}

using System.Runtime.CompilerServices;
using EmMask.Core.Volumes;

namespace EmMask.Core.Filters;

/// <summary>
/// Applies one 1D kernel per axis (null = leave the axis alone) in two sweeps over memory:
/// the z pass, vectorised across x (each output row is a weighted sum of input rows), then y and x fused slice by
/// slice so the intermediate never leaves the cache. Works in place: every unit of work copies the input it reads
/// before writing output that overlaps it. Results depend only on the shape, never on the thread count.
/// </summary>
internal static unsafe class SeparableFilter
{
    /// <summary>Slices at least this many: the y and x passes run fused, one slice per work unit; fewer (a 2D image) and they run as two passes with finer units so all cores help.</summary>
    private const int FusedMinimumSlices = 8;

    /// <summary>Rows computed together in a fused slice before the x pass consumes them (kept in L1/L2).</summary>
    internal const int FusedBlockRows = 16;

    /// <summary>Rows per unit of a separate x pass.</summary>
    private const int LineChunkRows = 16;

    /// <summary>A column block gathered by a row pass holds at most this many floats (fits L2 with room to spare).</summary>
    private const int ColumnBlockFloats = 1 << 15;

    public static void Run(Volume<float> source, Volume<float> destination, AxisKernel? kz, AxisKernel? ky, AxisKernel? kx, CancellationToken cancellationToken)
    {
        var shape = source.Shape;
        cancellationToken.ThrowIfCancellationRequested();
        if (shape.IsEmpty)
        {
            return;
        }

        kz = Effective(kz, shape.Z);
        ky = Effective(ky, shape.Y);
        kx = Effective(kx, shape.X);

        bool aliased = FilterArguments.SameBuffer(source, destination);
        using var sourcePin = source.Memory.Pin();
        using var destinationPin = destination.Memory.Pin();
        float* input = (float*)sourcePin.Pointer;
        float* output = (float*)destinationPin.Pointer;

        if (kz is null && ky is null && kx is null)
        {
            if (!aliased)
            {
                source.Span.CopyTo(destination.Span);
            }

            return;
        }

        if (kz is not null)
        {
            var z = new RowPass(kz, input, output, count: shape.Z, axisStride: (long)shape.Y * shape.X, outer: shape.Y, outerStride: shape.X, width: shape.X);
            ParallelLines.For(z.Units, z, cancellationToken);
            input = output;
            aliased = true;
        }

        if (ky is null && kx is null)
        {
            return;
        }

        if (shape.Z >= FusedMinimumSlices)
        {
            ParallelLines.For(shape.Z, new FusedSlicePass(ky, kx, input, output, aliased, shape), cancellationToken);
            return;
        }

        if (ky is not null)
        {
            var y = new RowPass(ky, input, output, count: shape.Y, axisStride: shape.X, outer: shape.Z, outerStride: (long)shape.Y * shape.X, width: shape.X);
            ParallelLines.For(y.Units, y, cancellationToken);
            input = output;
        }

        if (kx is not null)
        {
            var x = new LinePass(kx, input, output, rows: shape.Z * shape.Y, length: shape.X);
            ParallelLines.For(x.Units, x, cancellationToken);
        }
    }

    /// <summary>Drops kernels that would not change the data along an axis of this length.</summary>
    internal static AxisKernel? Effective(AxisKernel? kernel, int length) =>
        kernel is null || kernel.IsIdentity || (length == 1 && kernel.PreservesConstants) ? null : kernel;

    /// <summary>Fills <paramref name="rows"/> with the row addresses of the reflect-extended stack of <paramref name="count"/> rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void ExtendRows(float** rows, float* first, long stride, int count, int before, int after)
    {
        int total = before + count + after;
        for (int p = 0; p < total; p++)
        {
            rows[p] = first + (Reflect.Index(p - before, count) * stride);
        }
    }

    /// <summary>
    /// A pass along z or y: one unit is one column block (an outer index and a range of x); every output row is a
    /// weighted sum of input rows, vectorised along x. An optional second kernel filters the same gathered block
    /// into a second output (a smoothing and a derivative from one read of the input).
    /// </summary>
    internal readonly struct RowPass : ILineOperation
    {
        private readonly AxisKernel kernel;
        private readonly AxisKernel? secondKernel;
        private readonly float* input;
        private readonly float* output;
        private readonly float* secondOutput;
        private readonly int count;
        private readonly long axisStride;
        private readonly long outerStride;
        private readonly int width;
        private readonly int blockWidth;
        private readonly int blocksPerRow;

        public RowPass(AxisKernel kernel, float* input, float* output, int count, long axisStride, int outer, long outerStride, int width,
                       AxisKernel? secondKernel = null, float* secondOutput = null)
        {
            this.kernel = kernel;
            this.secondKernel = secondKernel;
            this.secondOutput = secondOutput;
            this.input = input;
            this.output = output;
            this.count = count;
            this.axisStride = axisStride;
            this.outerStride = outerStride;
            this.width = width;

            // Each unit gathers its column block first; keep that copy cache-sized.
            int fit = Math.Max(64, ColumnBlockFloats / Math.Max(count, 1) / 16 * 16);
            blockWidth = Math.Min(width, fit);
            blocksPerRow = (width + blockWidth - 1) / blockWidth;
            Units = outer * blocksPerRow;
        }

        public int Units { get; }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Invoke(int index, LineScratch scratch)
        {
            int o = index / blocksPerRow;
            int x0 = index % blocksPerRow * blockWidth;
            int w = Math.Min(blockWidth, width - x0);
            long offset = (o * outerStride) + x0;
            int before = Math.Max(kernel.Before, secondKernel?.Before ?? 0);
            int after = Math.Max(kernel.After, secondKernel?.After ?? 0);
            fixed (nint* rowAddresses = scratch.Rows(before + count + after))
            fixed (float* copy = scratch.Copy(count * w))
            {
                // Always gather the column block into contiguous scratch: in place this keeps the input intact, and
                // otherwise it still pays, since rows a power-of-two slice apart would share cache sets and thrash.
                float* first = input + offset;
                for (int i = 0; i < count; i++)
                {
                    new ReadOnlySpan<float>(first + (i * axisStride), w).CopyTo(new Span<float>(copy + (i * w), w));
                }

                float** rows = (float**)rowAddresses;
                ExtendRows(rows, copy, w, count, before, after);
                kernel.ConvolveRows(rows + before - kernel.Before, count, w, output + offset, axisStride, scratch);
                secondKernel?.ConvolveRows(rows + before - secondKernel.Before, count, w, secondOutput + offset, axisStride, scratch);
            }
        }
    }

    /// <summary>The y and x passes of one z slice: blocks of rows filtered along y, then each row along x.</summary>
    private readonly struct FusedSlicePass(AxisKernel? ky, AxisKernel? kx, float* input, float* output, bool aliased, Shape3 shape) : ILineOperation
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Invoke(int index, LineScratch scratch)
        {
            int ny = shape.Y;
            int nx = shape.X;
            int slice = ny * nx;
            int beforeY = ky?.Before ?? 0;
            int afterY = ky?.After ?? 0;
            int beforeX = kx?.Before ?? 0;
            int afterX = kx?.After ?? 0;
            float* inSlice = input + ((long)index * slice);
            float* outSlice = output + ((long)index * slice);
            // With no y pass each row is copied into the padded line before it is overwritten, so no slice copy is needed.
            bool copySlice = aliased && ky is not null;
            fixed (float* copy = scratch.Copy(copySlice ? slice : 0))
            fixed (float* block = scratch.Block(ky is not null && kx is not null ? FusedBlockRows * nx : 0))
            fixed (float* line = scratch.Line(kx is not null ? beforeX + nx + afterX : 0))
            fixed (nint* rowAddresses = scratch.Rows(ky is not null ? beforeY + ny + afterY : 0))
            {
                if (copySlice)
                {
                    new ReadOnlySpan<float>(inSlice, slice).CopyTo(new Span<float>(copy, slice));
                    inSlice = copy;
                }

                SmoothSlice(inSlice, outSlice, ky, kx, ny, nx, (float**)rowAddresses, block, line, scratch);
            }
        }
    }

    /// <summary>
    /// Filters one (y, x) slice from <paramref name="input"/> into <paramref name="output"/> (distinct buffers): blocks of
    /// rows along y into <paramref name="block"/>, then each of those rows along x through the padded <paramref name="line"/>.
    /// Scratch sizes: rows ≥ ky.Before + ny + ky.After, block ≥ FusedBlockRows·nx, line ≥ kx.Before + nx + kx.After.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void SmoothSlice(float* input, float* output, AxisKernel? ky, AxisKernel? kx, int ny, int nx, float** rows, float* block, float* line, LineScratch scratch)
    {
        int beforeX = kx?.Before ?? 0;
        int afterX = kx?.After ?? 0;
        if (ky is not null)
        {
            ExtendRows(rows, input, nx, ny, ky.Before, ky.After);
        }

        if (kx is null)
        {
            if (ky is null)
            {
                new ReadOnlySpan<float>(input, ny * nx).CopyTo(new Span<float>(output, ny * nx));
                return;
            }

            ky.ConvolveRows(rows, ny, nx, output, nx, scratch);
            return;
        }

        for (int y0 = 0; y0 < ny; y0 += FusedBlockRows)
        {
            int rowsInBlock = Math.Min(FusedBlockRows, ny - y0);
            float* source = input + ((long)y0 * nx);
            if (ky is not null)
            {
                ky.ConvolveRows(rows + y0, rowsInBlock, nx, block, nx, scratch);
                source = block;
            }

            for (int j = 0; j < rowsInBlock; j++)
            {
                new ReadOnlySpan<float>(source + ((long)j * nx), nx).CopyTo(new Span<float>(line + beforeX, nx));
                Reflect.PadLine(line, nx, beforeX, afterX);
                kx.ConvolveLine(line, nx, output + ((long)(y0 + j) * nx));
            }
        }
    }

    /// <summary>A pass along x: each row is copied into a reflect-padded line, so it also works in place.</summary>
    private readonly struct LinePass : ILineOperation
    {
        private readonly AxisKernel kernel;
        private readonly float* input;
        private readonly float* output;
        private readonly int rows;
        private readonly int length;

        public LinePass(AxisKernel kernel, float* input, float* output, int rows, int length)
        {
            this.kernel = kernel;
            this.input = input;
            this.output = output;
            this.rows = rows;
            this.length = length;
            Units = (rows + LineChunkRows - 1) / LineChunkRows;
        }

        public int Units { get; }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Invoke(int index, LineScratch scratch)
        {
            int before = kernel.Before;
            int after = kernel.After;
            int end = Math.Min(rows, (index + 1) * LineChunkRows);
            fixed (float* line = scratch.Line(before + length + after))
            {
                for (int r = index * LineChunkRows; r < end; r++)
                {
                    long offset = (long)r * length;
                    new ReadOnlySpan<float>(input + offset, length).CopyTo(new Span<float>(line + before, length));
                    Reflect.PadLine(line, length, before, after);
                    kernel.ConvolveLine(line, length, output + offset);
                }
            }
        }
    }
}

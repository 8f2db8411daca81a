using System.Runtime.CompilerServices;
using System.Numerics;
using System.Numerics.Tensors;
using EmMask.Core.Volumes;

namespace EmMask.Core.Filters;

/// <summary>
/// Two Gaussian-filtered channels combined voxel by voxel (difference of Gaussians, local mean and variance) in
/// two sweeps: the z passes of both channels, then the y and x passes of both and the combination slice by slice,
/// so the intermediates never make an extra trip through memory. Each channel gets exactly the arithmetic of
/// <see cref="GaussianFilter"/>, so results equal filtering each channel separately, bit for bit.
/// </summary>
internal static unsafe class PairedGaussian
{
    private const int BlockRows = 16;

    internal enum Combination
    {
        /// <summary>out1 = A − B.</summary>
        Difference,

        /// <summary>out1 = A (mean), out2 = max(B − A², 0) (variance).</summary>
        Variance,

        /// <summary>out1 = A − B, out2 = A.</summary>
        DifferenceAndA,
    }

    /// <summary>
    /// low = G(σ_low)·source and difference = low − G(σ_high)·source in the same two sweeps (the classical masker needs
    /// both: the band-pass and the smoothed image). Each output equals its separate <see cref="GaussianFilter"/> result.
    /// </summary>
    public static void DifferenceAndLow(Volume<float> source, Volume<float> low, Volume<float> difference, Sigma3 lowSigma, Sigma3 highSigma, CancellationToken ct)
    {
        FilterArguments.CheckPair(source, low, destinationName: nameof(low));
        FilterArguments.CheckPair(source, difference, destinationName: nameof(difference));
        ct.ThrowIfCancellationRequested();
        if (source.Shape.IsEmpty)
        {
            return;
        }

        if (FilterArguments.SameBuffer(source, low) || FilterArguments.SameBuffer(source, difference) || FilterArguments.SameBuffer(low, difference))
        {
            throw new ArgumentException("Source, low and difference must be three different buffers.");
        }

        var shape = source.Shape;
        var kernelsA = Kernels(lowSigma, shape);
        var kernelsB = Kernels(highSigma, shape);
        using var sourcePin = source.Memory.Pin();
        using var lowPin = low.Memory.Pin();
        using var differencePin = difference.Memory.Pin();
        float* input = (float*)sourcePin.Pointer;
        float* outLow = (float*)lowPin.Pointer;
        float* outDifference = (float*)differencePin.Pointer;
        float* channelA = kernelsA.Z is null ? input : outLow;
        float* channelB = kernelsB.Z is null ? input : outDifference;
        ZPasses(input, kernelsB.Z, channelB, input, kernelsA.Z, channelA, shape, ct);

        var pass = new SlicePass(kernelsA, kernelsB, channelA, channelB, outDifference, outLow, Combination.DifferenceAndA, shape);
        ParallelLines.For(shape.Z, pass, ct);
    }

    /// <summary>destination = G(low)·source − G(high)·source.</summary>
    public static void Difference(Volume<float> source, Volume<float> destination, Sigma3 low, Sigma3 high, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        if (source.Shape.IsEmpty)
        {
            return;
        }

        var shape = source.Shape;
        var kernelsA = Kernels(low, shape);
        var kernelsB = Kernels(high, shape);
        using var temporary = kernelsB.Z is null ? null : PooledVolume.Like(source);
        using var sourcePin = source.Memory.Pin();
        using var destinationPin = destination.Memory.Pin();
        using var temporaryPin = temporary?.Volume.Memory.Pin();
        float* input = (float*)sourcePin.Pointer;
        float* output = (float*)destinationPin.Pointer;
        float* channelA = kernelsA.Z is null ? input : output;
        float* channelB = kernelsB.Z is null ? input : (float*)temporaryPin!.Value.Pointer;

        // Channel B's z pass first: channel A's may overwrite the source when the call is in place.
        ZPasses(input, kernelsB.Z, channelB, input, kernelsA.Z, channelA, shape, ct);

        var pass = new SlicePass(kernelsA, kernelsB, channelA, channelB, output, null, Combination.Difference, shape);
        ParallelLines.For(shape.Z, pass, ct);
    }

    /// <summary>mean = G·source, variance = max(G·source² − mean², 0).</summary>
    public static void Statistics(Volume<float> source, Sigma3 sigma, Volume<float> mean, Volume<float> variance, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        if (source.Shape.IsEmpty)
        {
            return;
        }

        var shape = source.Shape;
        var kernels = Kernels(sigma, shape);
        using var squares = PooledVolume.Like(source);
        TensorPrimitives.Multiply(source.Span, source.Span, squares.Volume.Span);
        using var sourcePin = source.Memory.Pin();
        using var meanPin = mean.Memory.Pin();
        using var variancePin = variance.Memory.Pin();
        using var squaresPin = squares.Volume.Memory.Pin();
        float* input = (float*)sourcePin.Pointer;
        float* squared = (float*)squaresPin.Pointer;
        float* channelA = kernels.Z is null ? input : (float*)meanPin.Pointer;

        ZPasses(squared, kernels.Z, squared, input, kernels.Z, channelA, shape, ct);

        var pass = new SlicePass(kernels, kernels, channelA, squared, (float*)meanPin.Pointer, (float*)variancePin.Pointer, Combination.Variance, shape);
        ParallelLines.For(shape.Z, pass, ct);
    }

    private static (AxisKernel? Z, AxisKernel? Y, AxisKernel? X) Kernels(Sigma3 sigma, Shape3 shape) =>
        (Kernel(sigma.Z, shape.Z), Kernel(sigma.Y, shape.Y), Kernel(sigma.X, shape.X));

    private static AxisKernel? Kernel(double sigma, int length) =>
        sigma > GaussianFilter.MinimumSigma ? SeparableFilter.Effective(GaussianKernel.Create(sigma, 0, GaussianFilter.DefaultTruncate), length) : null;

    /// <summary>Runs z pass B (inputB → outputB) then z pass A (inputA → outputA), sharing one gather when both read the same input.</summary>
    private static void ZPasses(float* inputB, AxisKernel? kernelB, float* outputB, float* inputA, AxisKernel? kernelA, float* outputA, Shape3 shape, CancellationToken ct)
    {
        long sliceStride = (long)shape.Y * shape.X;
        if (kernelA is not null && kernelB is not null && inputA == inputB)
        {
            var both = new SeparableFilter.RowPass(kernelB, inputB, outputB, shape.Z, sliceStride, shape.Y, shape.X, shape.X, kernelA, outputA);
            ParallelLines.For(both.Units, both, ct);
            return;
        }

        if (kernelB is not null)
        {
            var b = new SeparableFilter.RowPass(kernelB, inputB, outputB, shape.Z, sliceStride, shape.Y, shape.X, shape.X);
            ParallelLines.For(b.Units, b, ct);
        }

        if (kernelA is not null)
        {
            var a = new SeparableFilter.RowPass(kernelA, inputA, outputA, shape.Z, sliceStride, shape.Y, shape.X, shape.X);
            ParallelLines.For(a.Units, a, ct);
        }
    }

    private readonly struct SlicePass(
        (AxisKernel? Z, AxisKernel? Y, AxisKernel? X) kernelsA, (AxisKernel? Z, AxisKernel? Y, AxisKernel? X) kernelsB,
        float* channelA, float* channelB, float* output1, float* output2, Combination combination, Shape3 shape) : ILineOperation
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Invoke(int index, LineScratch scratch)
        {
            int ny = shape.Y;
            int nx = shape.X;
            int slice = ny * nx;
            long offset = (long)index * slice;

            // A channel read through a y kernel while an output overwrites its buffer must be copied first.
            bool copyA = kernelsA.Y is not null && Writes(channelA);
            bool copyB = kernelsB.Y is not null && Writes(channelB);
            int rowsA = kernelsA.Y is null ? 0 : kernelsA.Y.Before + ny + kernelsA.Y.After;
            int rowsB = kernelsB.Y is null ? 0 : kernelsB.Y.Before + ny + kernelsB.Y.After;
            int pad = Math.Max(kernelsA.X?.Before ?? 0, kernelsB.X?.Before ?? 0);
            fixed (float* copy = scratch.Copy(copyA ? slice : 0))
            fixed (float* secondCopy = scratch.SecondCopy(copyB ? slice : 0))
            fixed (float* block = scratch.Block((2 * BlockRows * nx) + (2 * nx)))
            fixed (float* line = scratch.Line(pad + nx + pad))
            fixed (nint* rowAddresses = scratch.Rows(rowsA + rowsB))
            {
                float* a = channelA + offset;
                float* b = channelB + offset;
                if (copyA)
                {
                    new ReadOnlySpan<float>(a, slice).CopyTo(new Span<float>(copy, slice));
                    a = copy;
                }

                if (copyB)
                {
                    new ReadOnlySpan<float>(b, slice).CopyTo(new Span<float>(secondCopy, slice));
                    b = secondCopy;
                }

                float** extendedA = (float**)rowAddresses;
                float** extendedB = extendedA + rowsA;
                if (kernelsA.Y is not null)
                {
                    SeparableFilter.ExtendRows(extendedA, a, nx, ny, kernelsA.Y.Before, kernelsA.Y.After);
                }

                if (kernelsB.Y is not null)
                {
                    SeparableFilter.ExtendRows(extendedB, b, nx, ny, kernelsB.Y.Before, kernelsB.Y.After);
                }

                float* blockA = block;
                float* blockB = block + (BlockRows * nx);
                float* rowA = block + (2 * BlockRows * nx);
                float* rowB = rowA + nx;
                for (int y0 = 0; y0 < ny; y0 += BlockRows)
                {
                    int rows = Math.Min(BlockRows, ny - y0);
                    float* sourceA = a + ((long)y0 * nx);
                    float* sourceB = b + ((long)y0 * nx);
                    if (kernelsA.Y is not null)
                    {
                        kernelsA.Y.ConvolveRows(extendedA + y0, rows, nx, blockA, nx, scratch);
                        sourceA = blockA;
                    }

                    if (kernelsB.Y is not null)
                    {
                        kernelsB.Y.ConvolveRows(extendedB + y0, rows, nx, blockB, nx, scratch);
                        sourceB = blockB;
                    }

                    for (int j = 0; j < rows; j++)
                    {
                        float* resultA = AlongX(kernelsA.X, sourceA + ((long)j * nx), rowA, line, nx);
                        float* resultB = AlongX(kernelsB.X, sourceB + ((long)j * nx), rowB, line, nx);
                        long at = offset + ((long)(y0 + j) * nx);
                        Combine(resultA, resultB, at, nx);
                    }
                }
            }
        }

        private bool Writes(float* channel) => channel == output1 || (output2 != null && channel == output2);

        private void Combine(float* a, float* b, long at, int nx)
        {
            var ra = new ReadOnlySpan<float>(a, nx);
            var rb = new ReadOnlySpan<float>(b, nx);
            if (combination == Combination.Difference)
            {
                TensorPrimitives.Subtract(ra, rb, new Span<float>(output1 + at, nx));
                return;
            }

            if (combination == Combination.DifferenceAndA)
            {
                // A may be output2's own row (unfiltered in y and x): the difference reads it before A is stored.
                TensorPrimitives.Subtract(ra, rb, new Span<float>(output1 + at, nx));
                ra.CopyTo(new Span<float>(output2 + at, nx));
                return;
            }

            // An unfiltered channel A points straight into the input, which may be either output: store the mean
            // first when A is the variance's row, and the variance first otherwise (A may be the mean's own row).
            var meanRow = new Span<float>(output1 + at, nx);
            var varianceRow = new Span<float>(output2 + at, nx);
            if (a == output2 + at)
            {
                ra.CopyTo(meanRow);
                SubtractSquareClamped(meanRow, rb, varianceRow);
            }
            else
            {
                SubtractSquareClamped(ra, rb, varianceRow);
                ra.CopyTo(meanRow);
            }
        }

        /// <summary>Filters one row along x into <paramref name="result"/>, or returns the row itself when x is not filtered.</summary>
        private static float* AlongX(AxisKernel? kernel, float* row, float* result, float* line, int nx)
        {
            if (kernel is null)
            {
                return row;
            }

            new ReadOnlySpan<float>(row, nx).CopyTo(new Span<float>(line + kernel.Before, nx));
            Reflect.PadLine(line, nx, kernel.Before, kernel.After);
            kernel.ConvolveLine(line, nx, result);
            return result;
        }
    }

    /// <summary>v = max(s − m², 0), element-wise, with m² rounded first as numpy does (so σ = 0 gives exactly 0).</summary>
    internal static void SubtractSquareClamped(ReadOnlySpan<float> m, ReadOnlySpan<float> s, Span<float> v)
    {
        int lanes = Vector<float>.Count;
        int i = 0;
        for (; i <= v.Length - lanes; i += lanes)
        {
            var mi = new Vector<float>(m.Slice(i, lanes));
            var si = new Vector<float>(s.Slice(i, lanes));
            Vector.Max(si - (mi * mi), Vector<float>.Zero).CopyTo(v.Slice(i, lanes));
        }

        for (; i < v.Length; i++)
        {
            v[i] = MathF.Max(s[i] - (m[i] * m[i]), 0f);
        }
    }
}

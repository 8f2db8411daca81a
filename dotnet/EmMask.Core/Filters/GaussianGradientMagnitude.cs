using System.Runtime.CompilerServices;
using System.Numerics.Tensors;
using EmMask.Core.Volumes;

namespace EmMask.Core.Filters;

/// <summary>
/// Gradient magnitude of the Gaussian-smoothed volume, sqrt(Σ_axis (∂G/∂axis)²), as
/// <c>scipy.ndimage.gaussian_gradient_magnitude</c> computes it: each derivative is a
/// <see cref="GaussianFilter"/> with order 1 along that axis (reflect mode, truncate 4), in voxel units.
/// </summary>
/// <remarks>
/// The three derivatives share work: one z sweep produces the z-smoothed and z-differentiated volumes, and one
/// slice-by-slice sweep finishes all three derivatives and the magnitude while the slice is in cache, so the
/// volume is read and written twice instead of about twelve times.
/// </remarks>
public static class GaussianGradientMagnitude
{
    /// <summary>Writes the Gaussian gradient magnitude of <paramref name="source"/> into <paramref name="destination"/>.</summary>
    /// <param name="source">Input volume.</param>
    /// <param name="destination">Output of the same shape; may be <paramref name="source"/> itself.</param>
    /// <param name="sigma">
    /// Standard deviation per axis in voxels, finite and &gt; 0 on every axis. Zero is refused: scipy would then skip
    /// that axis's derivative and add the squared smoothed image itself, which is never what a caller wants. For a 2D
    /// image (Z = 1) any positive σ.Z is fine: the z derivative of a single slice is exactly zero.
    /// </param>
    /// <param name="ct">Stops the work between lines; throws <see cref="OperationCanceledException"/>.</param>
    public static unsafe void Apply(Volume<float> source, Volume<float> destination, Sigma3 sigma, CancellationToken ct = default)
    {
        FilterArguments.CheckPair(source, destination);
        sigma.Validate(nameof(sigma));
        if (!(sigma.Z > GaussianFilter.MinimumSigma && sigma.Y > GaussianFilter.MinimumSigma && sigma.X > GaussianFilter.MinimumSigma))
        {
            throw new ArgumentOutOfRangeException(nameof(sigma), sigma, "Sigma must be positive on every axis for a gradient magnitude.");
        }

        ct.ThrowIfCancellationRequested();
        var shape = source.Shape;
        if (shape.IsEmpty)
        {
            return;
        }

        const double truncate = GaussianFilter.DefaultTruncate;
        var derivativeZ = GaussianKernel.Create(sigma.Z, 1, truncate);
        var derivativeY = GaussianKernel.Create(sigma.Y, 1, truncate);
        var derivativeX = GaussianKernel.Create(sigma.X, 1, truncate);
        var smoothZ = SeparableFilter.Effective(GaussianKernel.Create(sigma.Z, 0, truncate), shape.Z);
        var smoothY = SeparableFilter.Effective(GaussianKernel.Create(sigma.Y, 0, truncate), shape.Y);
        var smoothX = SeparableFilter.Effective(GaussianKernel.Create(sigma.X, 0, truncate), shape.X);

        bool inPlace = FilterArguments.SameBuffer(source, destination);
        using var smoothedZ = smoothZ is null ? null : PooledVolume.Like(source);
        using var differentiatedZ = PooledVolume.Like(source);
        using var sourcePin = source.Memory.Pin();
        using var destinationPin = destination.Memory.Pin();
        using var smoothedPin = smoothedZ?.Volume.Memory.Pin();
        using var differentiatedPin = differentiatedZ.Volume.Memory.Pin();
        float* input = (float*)sourcePin.Pointer;
        float* smoothed = smoothedZ is null ? input : (float*)smoothedPin!.Value.Pointer;
        float* differentiated = (float*)differentiatedPin.Pointer;

        // Sweep 1: ∂z I and (unless z is a single slice) G_z I from one gather of each column block.
        var zPass = new SeparableFilter.RowPass(derivativeZ, input, differentiated, shape.Z, (long)shape.Y * shape.X, shape.Y, shape.X, shape.X,
                                                smoothZ, smoothZ is null ? null : smoothed);
        ParallelLines.For(zPass.Units, zPass, ct);

        // Sweep 2: per slice, ∂z = G_x G_y (∂z I), ∂y = G_x ∂y (G_z I), ∂x = ∂x G_y (G_z I), then the magnitude.
        var slicePass = new SlicePass(smoothY, smoothX, derivativeY, derivativeX, smoothed, differentiated, (float*)destinationPin.Pointer,
                                      copySmoothed: smoothZ is null && inPlace, shape);
        ParallelLines.For(shape.Z, slicePass, ct);
    }

    private readonly unsafe struct SlicePass(
        AxisKernel? smoothY, AxisKernel? smoothX, GaussianKernel derivativeY, GaussianKernel derivativeX,
        float* smoothed, float* differentiated, float* output, bool copySmoothed, Shape3 shape) : ILineOperation
    {
        private const int BlockRows = 16;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Invoke(int index, LineScratch scratch)
        {
            int ny = shape.Y;
            int nx = shape.X;
            int slice = ny * nx;
            int ry = derivativeY.Radius; // the smoothing kernel along y has the same radius
            int rx = derivativeX.Radius;
            int rowCount = ry + ny + ry;
            float* smoothedSlice = smoothed + ((long)index * slice);
            float* differentiatedSlice = differentiated + ((long)index * slice);
            float* outSlice = output + ((long)index * slice);
            fixed (float* copy = scratch.Copy(copySmoothed ? slice : 0))
            fixed (float* block = scratch.Block((3 * BlockRows * nx) + (3 * nx)))
            fixed (float* line = scratch.Line(rx + nx + rx))
            fixed (nint* rowAddresses = scratch.Rows(2 * rowCount))
            {
                if (copySmoothed)
                {
                    // G_z was the identity (one slice) and the call is in place: keep the input slice intact.
                    new ReadOnlySpan<float>(smoothedSlice, slice).CopyTo(new Span<float>(copy, slice));
                    smoothedSlice = copy;
                }

                float** rowsA = (float**)rowAddresses;
                float** rowsB = rowsA + rowCount;
                SeparableFilter.ExtendRows(rowsA, smoothedSlice, nx, ny, ry, ry);
                SeparableFilter.ExtendRows(rowsB, differentiatedSlice, nx, ny, ry, ry);
                float* smoothA = block;
                float* derivA = block + (BlockRows * nx);
                float* smoothB = block + (2 * BlockRows * nx);
                float* gz = block + (3 * BlockRows * nx);
                float* gy = gz + nx;
                float* gx = gy + nx;

                for (int y0 = 0; y0 < ny; y0 += BlockRows)
                {
                    int rows = Math.Min(BlockRows, ny - y0);
                    float* a = smoothedSlice + ((long)y0 * nx);
                    float* b = differentiatedSlice + ((long)y0 * nx);
                    if (smoothY is not null)
                    {
                        smoothY.ConvolveRows(rowsA + y0, rows, nx, smoothA, nx, scratch);
                        smoothY.ConvolveRows(rowsB + y0, rows, nx, smoothB, nx, scratch);
                        a = smoothA;
                        b = smoothB;
                    }

                    derivativeY.ConvolveRows(rowsA + y0, rows, nx, derivA, nx, scratch);
                    for (int j = 0; j < rows; j++)
                    {
                        long at = (long)j * nx;
                        AlongX(smoothX, b + at, gz, line, nx);
                        AlongX(smoothX, derivA + at, gy, line, nx);
                        AlongX(derivativeX, a + at, gx, line, nx);

                        // scipy's order: ∂z², then += ∂y², then += ∂x², each rounded to float32, then the root.
                        var o = new Span<float>(outSlice + ((y0 + j) * (long)nx), nx);
                        var z = new ReadOnlySpan<float>(gz, nx);
                        var y = new ReadOnlySpan<float>(gy, nx);
                        var x = new ReadOnlySpan<float>(gx, nx);
                        TensorPrimitives.Multiply(z, z, o);
                        TensorPrimitives.MultiplyAdd(y, y, o, o);
                        TensorPrimitives.MultiplyAdd(x, x, o, o);
                        TensorPrimitives.Sqrt(o, o);
                    }
                }
            }
        }

        private static void AlongX(AxisKernel? kernel, float* row, float* result, float* line, int nx)
        {
            if (kernel is null)
            {
                new ReadOnlySpan<float>(row, nx).CopyTo(new Span<float>(result, nx));
                return;
            }

            new ReadOnlySpan<float>(row, nx).CopyTo(new Span<float>(line + kernel.Before, nx));
            Reflect.PadLine(line, nx, kernel.Before, kernel.After);
            kernel.ConvolveLine(line, nx, result);
        }
    }
}

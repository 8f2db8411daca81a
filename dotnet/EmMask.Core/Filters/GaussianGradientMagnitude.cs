using System.Numerics.Tensors;
using EmMask.Core.Volumes;

namespace EmMask.Core.Filters;

/// <summary>
/// Gradient magnitude of the Gaussian-smoothed volume, sqrt(Σ_axis (∂G/∂axis)²), as
/// <c>scipy.ndimage.gaussian_gradient_magnitude</c> computes it: each derivative is a
/// <see cref="GaussianFilter"/> with order 1 along that axis (reflect mode, truncate 4), in voxel units.
/// </summary>
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
    public static void Apply(Volume<float> source, Volume<float> destination, Sigma3 sigma, CancellationToken ct = default)
    {
        FilterArguments.CheckPair(source, destination);
        sigma.Validate(nameof(sigma));
        if (!(sigma.Z > GaussianFilter.MinimumSigma && sigma.Y > GaussianFilter.MinimumSigma && sigma.X > GaussianFilter.MinimumSigma))
        {
            throw new ArgumentOutOfRangeException(nameof(sigma), sigma, "Sigma must be positive on every axis for a gradient magnitude.");
        }

        bool inPlace = FilterArguments.SameBuffer(source, destination);
        using var derivative = PooledVolume.Like(source);
        using var accumulator = inPlace ? PooledVolume.Like(source) : null;
        var sum = accumulator?.Volume ?? destination;
        var d = derivative.Volume.Span;

        GaussianFilter.Run(source, sum, sigma, (1, 0, 0), GaussianFilter.DefaultTruncate, ct);
        TensorPrimitives.Multiply(sum.Span, sum.Span, sum.Span);
        GaussianFilter.Run(source, derivative.Volume, sigma, (0, 1, 0), GaussianFilter.DefaultTruncate, ct);
        TensorPrimitives.FusedMultiplyAdd(d, d, sum.Span, sum.Span);
        GaussianFilter.Run(source, derivative.Volume, sigma, (0, 0, 1), GaussianFilter.DefaultTruncate, ct);
        TensorPrimitives.FusedMultiplyAdd(d, d, sum.Span, sum.Span);
        TensorPrimitives.Sqrt(sum.Span, destination.Span);
    }
}

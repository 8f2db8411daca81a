using System.Numerics;
using System.Numerics.Tensors;
using EmMask.Core.Volumes;

namespace EmMask.Core.Filters;

/// <summary>
/// Gaussian-weighted local mean G*I and local variance max(G*(I²) − (G*I)², 0), both with
/// <see cref="GaussianFilter"/> semantics (reflect mode, truncate 4). The clamp removes the small negative values
/// that float32 cancellation leaves in flat regions.
/// </summary>
public static class LocalStatistics
{
    /// <summary>Computes the local mean and variance of <paramref name="source"/>.</summary>
    /// <param name="source">Input volume.</param>
    /// <param name="sigma">Standard deviation of the Gaussian window per axis in voxels (finite, ≥ 0).</param>
    /// <param name="mean">Receives G*I; same shape; may be <paramref name="source"/> itself.</param>
    /// <param name="variance">Receives the variance; same shape; may be <paramref name="source"/> itself, but not <paramref name="mean"/>.</param>
    /// <param name="ct">Stops the work between lines; throws <see cref="OperationCanceledException"/>.</param>
    public static void Compute(Volume<float> source, Sigma3 sigma, Volume<float> mean, Volume<float> variance, CancellationToken ct = default)
    {
        FilterArguments.CheckPair(source, mean, nameof(source), nameof(mean));
        FilterArguments.CheckPair(source, variance, nameof(source), nameof(variance));
        sigma.Validate(nameof(sigma));
        if (mean.Span.Overlaps(variance.Span))
        {
            throw new ArgumentException("Mean and variance must be separate volumes.", nameof(variance));
        }

        const double truncate = GaussianFilter.DefaultTruncate;
        if (FilterArguments.SameBuffer(source, variance, nameof(variance)))
        {
            // The square would overwrite the source: take the mean first.
            GaussianFilter.Run(source, mean, sigma, (0, 0, 0), truncate, ct);
            TensorPrimitives.Multiply(variance.Span, variance.Span, variance.Span);
            GaussianFilter.Run(variance, variance, sigma, (0, 0, 0), truncate, ct);
        }
        else
        {
            TensorPrimitives.Multiply(source.Span, source.Span, variance.Span);
            GaussianFilter.Run(variance, variance, sigma, (0, 0, 0), truncate, ct);
            GaussianFilter.Run(source, mean, sigma, (0, 0, 0), truncate, ct);
        }

        SubtractSquareClamped(mean.Span, variance.Span);
    }

    /// <summary>v = max(v − m², 0), element-wise.</summary>
    private static void SubtractSquareClamped(ReadOnlySpan<float> m, Span<float> v)
    {
        int lanes = Vector<float>.Count;
        int i = 0;
        for (; i <= v.Length - lanes; i += lanes)
        {
            var mi = new Vector<float>(m.Slice(i, lanes));
            var vi = new Vector<float>(v.Slice(i, lanes));
            Vector.Max(Vector.FusedMultiplyAdd(-mi, mi, vi), Vector<float>.Zero).CopyTo(v.Slice(i, lanes));
        }

        for (; i < v.Length; i++)
        {
            v[i] = MathF.Max(MathF.FusedMultiplyAdd(-m[i], m[i], v[i]), 0f);
        }
    }
}

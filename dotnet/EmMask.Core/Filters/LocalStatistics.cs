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

        PairedGaussian.Statistics(source, sigma, mean, variance, ct);
    }
}

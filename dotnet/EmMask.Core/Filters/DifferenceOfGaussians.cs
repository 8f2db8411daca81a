using EmMask.Core.Volumes;

namespace EmMask.Core.Filters;

/// <summary>
/// Difference of Gaussians, G(low) − G(high): a band-pass that keeps structures between the two scales
/// (membranes and organelles) and removes slow illumination gradients. Each Gaussian is
/// <see cref="GaussianFilter"/> with scipy semantics and the default truncate of 4.
/// </summary>
public static class DifferenceOfGaussians
{
    /// <summary>Writes G(<paramref name="low"/>) − G(<paramref name="high"/>) of <paramref name="source"/> into <paramref name="destination"/>.</summary>
    /// <param name="source">Input volume.</param>
    /// <param name="destination">Output of the same shape; may be <paramref name="source"/> itself.</param>
    /// <param name="low">The smaller standard deviation (voxels per axis, finite, ≥ 0).</param>
    /// <param name="high">The larger standard deviation (voxels per axis, finite, ≥ 0).</param>
    /// <param name="ct">Stops the work between lines; throws <see cref="OperationCanceledException"/>.</param>
    public static void Apply(Volume<float> source, Volume<float> destination, Sigma3 low, Sigma3 high, CancellationToken ct = default)
    {
        FilterArguments.CheckPair(source, destination);
        low.Validate(nameof(low));
        high.Validate(nameof(high));

        PairedGaussian.Difference(source, destination, low, high, ct);
    }
}

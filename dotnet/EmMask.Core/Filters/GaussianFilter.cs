using EmMask.Core.Volumes;

namespace EmMask.Core.Filters;

/// <summary>
/// Gaussian smoothing and Gaussian derivatives with the semantics of <c>scipy.ndimage.gaussian_filter</c>:
/// boundary mode <c>reflect</c> ("d c b a | a b c d | d c b a", repeated for lines shorter than the kernel),
/// kernel radius int(truncate·σ + 0.5) per axis, kernel normalised to sum 1, one 1D pass per axis, and an axis
/// with σ = 0 (below 1e-15) left untouched — including its derivative order, as in scipy.
/// Results match scipy within 1e-4 relative (float32 accumulation of paired taps; tested against scipy golden files).
/// Runs on all cores; the result is bit-identical for any thread count and identical in place or out of place.
/// </summary>
public static class GaussianFilter
{
    /// <summary>scipy's default: the kernel extends 4 standard deviations each side.</summary>
    public const double DefaultTruncate = 4.0;

    /// <summary>Below this σ an axis is skipped, as in scipy.</summary>
    internal const double MinimumSigma = 1e-15;

    /// <summary>Smooths <paramref name="source"/> into <paramref name="destination"/>.</summary>
    /// <param name="source">Input volume.</param>
    /// <param name="destination">Output volume of the same shape; may be <paramref name="source"/> itself (in place).</param>
    /// <param name="sigma">Standard deviation per axis in voxels, finite and ≥ 0; 0 leaves that axis alone.</param>
    /// <param name="truncate">Kernel half-width in standard deviations (finite, ≥ 0); scipy's default is 4.</param>
    /// <param name="cancellationToken">Stops the work between lines; throws <see cref="OperationCanceledException"/>.</param>
    public static void Apply(Volume<float> source, Volume<float> destination, Sigma3 sigma, double truncate = DefaultTruncate,
                             CancellationToken cancellationToken = default) =>
        Apply(source, destination, sigma, (0, 0, 0), truncate, cancellationToken);

    /// <summary>Smooths, or differentiates along the axes whose <paramref name="order"/> is 1 (scipy's <c>order</c>).</summary>
    /// <param name="source">Input volume.</param>
    /// <param name="destination">Output volume of the same shape; may be <paramref name="source"/> itself (in place).</param>
    /// <param name="sigma">Standard deviation per axis in voxels, finite and ≥ 0; 0 leaves that axis alone (its order is then ignored, as in scipy).</param>
    /// <param name="order">Per axis, 0 to smooth or 1 for the first derivative of the Gaussian (per voxel, positive where values increase).</param>
    /// <param name="truncate">Kernel half-width in standard deviations (finite, ≥ 0); scipy's default is 4.</param>
    /// <param name="cancellationToken">Stops the work between lines; throws <see cref="OperationCanceledException"/>.</param>
    public static void Apply(Volume<float> source, Volume<float> destination, Sigma3 sigma, (int Z, int Y, int X) order,
                             double truncate = DefaultTruncate, CancellationToken cancellationToken = default)
    {
        FilterArguments.CheckPair(source, destination);
        sigma.Validate(nameof(sigma));
        FilterArguments.CheckOrder(order);
        FilterArguments.CheckTruncate(truncate);
        Run(source, destination, sigma, order, truncate, cancellationToken);
    }

    /// <summary>The unchecked core, for filters that validated their own arguments.</summary>
    internal static void Run(Volume<float> source, Volume<float> destination, Sigma3 sigma, (int Z, int Y, int X) order, double truncate, CancellationToken cancellationToken)
    {
        var kz = KernelFor(sigma.Z, order.Z, truncate);
        var ky = KernelFor(sigma.Y, order.Y, truncate);
        var kx = KernelFor(sigma.X, order.X, truncate);
        SeparableFilter.Run(source, destination, kz, ky, kx, cancellationToken);
    }

    private static GaussianKernel? KernelFor(double sigma, int order, double truncate) =>
        sigma > MinimumSigma ? GaussianKernel.Create(sigma, order, truncate) : null;
}

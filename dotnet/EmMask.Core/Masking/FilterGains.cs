using EmMask.Core.Filters;

namespace EmMask.Core.Masking;

/// <summary>
/// White-noise gains of the masker's derivative filters, per axis, so that structure-tensor entries are in units of the
/// noise variance whatever the sigmas. Computed exactly from the sampled, truncated 1D Gaussian kernels
/// (scipy's: radius = int(4σ + 0.5), normalised) and numpy.gradient's central difference.
/// </summary>
public static class FilterGains
{
    /// <summary>Sum of squares of the impulse response of ∂/∂axis (central difference) of G(σ) (isotropic 3D).</summary>
    public static double SmoothedGradient(double sigma)
    {
        int r = Radius(sigma) + 1;
        var g = Kernel(sigma, r);
        var d = Difference(g);
        return Dot(d, d) * Dot(g, g) * Dot(g, g);
    }

    /// <summary>Sum of squares of the impulse response of ∂/∂axis of G(low) − G(high) (isotropic 3D).</summary>
    public static double DifferenceOfGaussiansGradient(double sigmaLow, double sigmaHigh)
    {
        int r = Radius(Math.Max(sigmaLow, sigmaHigh)) + 1;
        var a = Kernel(sigmaLow, r);
        var b = Kernel(sigmaHigh, r);
        var da = Difference(a);
        var db = Difference(b);

        // (da⊗a⊗a − db⊗b⊗b)² summed over the cube factorises into 1D sums.
        return (Dot(da, da) * Math.Pow(Dot(a, a), 2)) - (2 * Dot(da, db) * Math.Pow(Dot(a, b), 2)) + (Dot(db, db) * Math.Pow(Dot(b, b), 2));
    }

    /// <summary>scipy's Gaussian radius for truncate 4.</summary>
    public static int Radius(double sigma) => GaussianKernel.RadiusFor(sigma, GaussianFilter.DefaultTruncate);

    private static double Dot(double[] a, double[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++)
        {
            s += a[i] * b[i];
        }

        return s;
    }

    // numpy.gradient's central difference of a kernel that is zero outside its support.
    private static double[] Difference(double[] g)
    {
        var d = new double[g.Length];
        for (int i = 0; i < g.Length; i++)
        {
            double left = i > 0 ? g[i - 1] : 0, right = i < g.Length - 1 ? g[i + 1] : 0;
            d[i] = (right - left) / 2;
        }

        return d;
    }

    // The filters' own order-0 weights (scipy's kernel), zero-padded to the given half-width.
    private static double[] Kernel(double sigma, int halfWidth)
    {
        int r = Radius(sigma);
        var k = new double[(2 * halfWidth) + 1];
        GaussianKernel.CorrelationWeights(sigma, 0, r).CopyTo(k, halfWidth - r);
        return k;
    }
}

using EmMask.Core.Volumes;

namespace EmMask.Core.Inference;

/// <summary>
/// The per-window blend weight of MONAI's Gaussian mode: a separable Gaussian centred on the window with
/// sigma = <c>sigmaScale</c>·size per axis, scaled so its maximum is 1 and clamped below at a small minimum so
/// window borders still count where no other window covers a voxel (MONAI clamps at 1e-3).
/// </summary>
public sealed class GaussianImportanceMap
{
    /// <summary>The floor MONAI applies to the weights.</summary>
    public const float DefaultMinimum = 1e-3f;

    /// <summary>Builds the map for windows of shape <paramref name="roi"/>.</summary>
    /// <param name="roi">Window shape; every axis at least 1.</param>
    /// <param name="sigmaScale">Sigma as a fraction of the axis length, positive (MONAI 0.125).</param>
    /// <param name="minimum">Smallest weight, in (0, 1].</param>
    public GaussianImportanceMap(Shape3 roi, double sigmaScale = 0.125, float minimum = DefaultMinimum)
    {
        if (roi.Z < 1 || roi.Y < 1 || roi.X < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(roi), roi, "Every window axis must be at least 1.");
        }

        if (!(sigmaScale > 0) || double.IsInfinity(sigmaScale))
        {
            throw new ArgumentOutOfRangeException(nameof(sigmaScale), sigmaScale, "Sigma scale must be a positive finite number.");
        }

        if (!(minimum > 0 && minimum <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(minimum), minimum, "Minimum weight must be in (0, 1].");
        }

        double[] z = Axis(roi.Z, sigmaScale), y = Axis(roi.Y, sigmaScale), x = Axis(roi.X, sigmaScale);
        Weights = new Volume<float>(roi);
        Span<float> w = Weights.Span;
        int i = 0;
        for (int iz = 0; iz < roi.Z; iz++)
        {
            for (int iy = 0; iy < roi.Y; iy++)
            {
                double zy = z[iz] * y[iy];
                for (int ix = 0; ix < roi.X; ix++)
                {
                    w[i++] = Math.Max((float)(zy * x[ix]), minimum);
                }
            }
        }
    }

    /// <summary>The weights, shape = window shape, maximum 1.</summary>
    public Volume<float> Weights { get; }

    /// <summary>One axis' Gaussian at offsets −(n−1)/2 … (n−1)/2, divided by its maximum (even n has no centre voxel).</summary>
    internal static double[] Axis(int n, double sigmaScale)
    {
        double sigma = n * sigmaScale;
        var g = new double[n];
        double max = 0;
        for (int i = 0; i < n; i++)
        {
            double d = i - (n - 1) / 2.0;
            g[i] = Math.Exp(d * d / (-2 * sigma * sigma));
            max = Math.Max(max, g[i]);
        }

        for (int i = 0; i < n; i++)
        {
            g[i] /= max;
        }

        return g;
    }
}

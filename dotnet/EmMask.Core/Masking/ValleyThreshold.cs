namespace EmMask.Core.Masking;

/// <summary>
/// The automatic threshold of the classical masker: Otsu's split of a 256-bin histogram defines the two classes, and the
/// threshold is the lowest point of the Gaussian-smoothed (σ = 2 bins) histogram between the two class means. Otsu alone
/// drifts into the larger class when the classes are very unequal (a crop that is 80% tissue); the valley does not.
/// </summary>
public static class ValleyThreshold
{
    /// <summary>Histogram bins.</summary>
    internal const int Bins = 256;
    private const double SmoothingBins = 2.0;

    /// <summary>The outcome of <see cref="Compute(ReadOnlySpan{float})"/>.</summary>
    /// <param name="Threshold">The valley between the class means (Otsu's threshold when there is no bin between them).</param>
    /// <param name="Separability">Otsu's η, 0..1; a single Gaussian mode gives about 2/π ≈ 0.64.</param>
    public readonly record struct Result(double Threshold, double Separability);

    /// <summary>Computes the threshold of the finite values.</summary>
    public static Result Compute(ReadOnlySpan<float> values) => Compute(ValueHistogram.Build(values, Bins));

    /// <summary>Computes the threshold from a histogram of <see cref="Bins"/> bins.</summary>
    internal static Result Compute(ValueHistogram histogram)
    {
        var otsu = OtsuThreshold.Compute(histogram);
        if (!histogram.HasRange)
        {
            return new Result(otsu.Threshold, otsu.Separability);
        }

        var counts = histogram.Counts;
        double lowSum = 0, lowCount = 0, highSum = 0, highCount = 0;
        for (int i = 0; i < Bins; i++)
        {
            double c = histogram.Centre(i);
            if (c < otsu.Threshold)
            {
                lowSum += counts[i] * c;
                lowCount += counts[i];
            }
            else
            {
                highSum += counts[i] * c;
                highCount += counts[i];
            }
        }

        if (lowCount == 0 || highCount == 0)
        {
            return new Result(otsu.Threshold, otsu.Separability);
        }

        double lowMean = lowSum / lowCount, highMean = highSum / highCount;
        var smoothed = Smooth(counts);
        int best = -1;
        for (int i = 0; i < Bins; i++)
        {
            double c = histogram.Centre(i);
            if (c > lowMean && c < highMean && (best < 0 || smoothed[i] < smoothed[best]))
            {
                best = i;
            }
        }

        return new Result(best < 0 ? otsu.Threshold : histogram.Centre(best), otsu.Separability);
    }

    // scipy.ndimage.gaussian_filter1d(mode='reflect', truncate=4) of the histogram.
    private static double[] Smooth(double[] h)
    {
        int r = (int)((4.0 * SmoothingBins) + 0.5);
        var kernel = new double[(2 * r) + 1];
        double sum = 0;
        for (int k = -r; k <= r; k++)
        {
            kernel[k + r] = Math.Exp(-0.5 * k * k / (SmoothingBins * SmoothingBins));
            sum += kernel[k + r];
        }

        var result = new double[h.Length];
        for (int i = 0; i < h.Length; i++)
        {
            double acc = 0;
            for (int k = -r; k <= r; k++)
            {
                int j = i + k;
                j = j < 0 ? -j - 1 : (j >= h.Length ? (2 * h.Length) - j - 1 : j);
                acc += kernel[k + r] * h[j];
            }

            result[i] = acc / sum;
        }

        return result;
    }
}

namespace EmMask.Core.Masking;

/// <summary>Otsu's threshold on a 256-bin histogram between the minimum and maximum finite value.</summary>
public static class OtsuThreshold
{
    /// <summary>The outcome of <see cref="Compute(ReadOnlySpan{float}, int)"/>.</summary>
    /// <param name="Threshold">Bin centre that maximises the between-class variance.</param>
    /// <param name="Separability">Between-class over total variance, 0..1 (Otsu's η). A single Gaussian mode gives about 2/π ≈ 0.64.</param>
    public readonly record struct Result(double Threshold, double Separability);

    /// <summary>Computes the threshold; an empty or constant input returns its value with separability 0.</summary>
    public static Result Compute(ReadOnlySpan<float> values, int bins = 256)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bins, 2);
        return Compute(ValueHistogram.Build(values, bins));
    }

    /// <summary>
    /// Otsu's η of the split at <paramref name="threshold"/> rather than at Otsu's own: between-class over total variance
    /// when the bins whose centre lies below it form the lower class; 0 where either class is empty or the values span no range.
    /// </summary>
    public static double SeparabilityAt(ReadOnlySpan<float> values, double threshold, int bins = 256)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bins, 2);
        return SeparabilityAt(ValueHistogram.Build(values, bins), threshold);
    }

    internal static double SeparabilityAt(ValueHistogram histogram, double threshold)
    {
        if (!histogram.HasRange)
        {
            return 0;
        }

        var counts = histogram.Counts;
        double total = 0, sum = 0, sumSquares = 0, w0 = 0, m0 = 0;
        for (int i = 0; i < counts.Length; i++)
        {
            double c = histogram.Centre(i);
            total += counts[i];
            sum += counts[i] * c;
            sumSquares += counts[i] * c * c;
            if (c < threshold)
            {
                w0 += counts[i];
                m0 += counts[i] * c;
            }
        }

        double w1 = total - w0, variance = (sumSquares / total) - ((sum / total) * (sum / total));
        if (w0 == 0 || w1 == 0 || !(variance > 0))
        {
            return 0;
        }

        double mu0 = m0 / w0, mu1 = (sum - m0) / w1;
        return Math.Clamp(w0 * w1 * (mu0 - mu1) * (mu0 - mu1) / (total * total) / variance, 0, 1);
    }

    internal static Result Compute(ValueHistogram histogram)
    {
        if (!histogram.HasRange)
        {
            return new Result(float.IsFinite(histogram.Min) ? histogram.Min : 0, 0);
        }

        var counts = histogram.Counts;
        int bins = counts.Length;
        double total = 0, sum = 0, sumSquares = 0;
        for (int i = 0; i < bins; i++)
        {
            double c = histogram.Centre(i);
            total += counts[i];
            sum += counts[i] * c;
            sumSquares += counts[i] * c * c;
        }

        double mean = sum / total;
        double variance = (sumSquares / total) - (mean * mean);
        double w0 = 0, m0 = 0, best = -1;
        int bestBin = 0;
        for (int i = 0; i < bins - 1; i++)
        {
            double c = histogram.Centre(i);
            w0 += counts[i];
            m0 += counts[i] * c;
            double w1 = total - w0;
            if (w0 == 0 || w1 == 0)
            {
                continue;
            }

            double mu0 = m0 / w0, mu1 = (sum - m0) / w1;
            double between = w0 * w1 * (mu0 - mu1) * (mu0 - mu1) / (total * total);
            if (between > best)
            {
                best = between;
                bestBin = i;
            }
        }

        // Voxels in bins 0..bestBin form the lower class: the threshold is the upper edge of that bin.
        double threshold = histogram.Min + ((bestBin + 1) * histogram.Width);
        return new Result(threshold, variance > 0 ? Math.Clamp(best / variance, 0, 1) : 0);
    }
}

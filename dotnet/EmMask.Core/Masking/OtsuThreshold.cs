namespace EmMask.Core.Masking;

/// <summary>Otsu's threshold on a 256-bin histogram between the minimum and maximum finite value.</summary>
public static class OtsuThreshold
{
    /// <summary>The outcome of <see cref="Compute"/>.</summary>
    /// <param name="Threshold">Bin centre that maximises the between-class variance.</param>
    /// <param name="Separability">Between-class over total variance, 0..1 (Otsu's η). A single Gaussian mode gives about 2/π ≈ 0.64.</param>
    public readonly record struct Result(double Threshold, double Separability);

    /// <summary>Computes the threshold; an empty or constant input returns its value with separability 0.</summary>
    public static Result Compute(ReadOnlySpan<float> values, int bins = 256)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bins, 2);
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        foreach (float v in values)
        {
            if (float.IsFinite(v))
            {
                min = Math.Min(min, v);
                max = Math.Max(max, v);
            }
        }

        if (!(max > min))
        {
            return new Result(float.IsFinite(min) ? min : 0, 0);
        }

        var histogram = new long[bins];
        double width = (max - min) / bins;
        double inverse = 1.0 / width;
        foreach (float v in values)
        {
            if (float.IsFinite(v))
            {
                int b = (int)((v - min) * inverse);
                histogram[Math.Min(b, bins - 1)]++;
            }
        }

        double total = 0, sum = 0, sumSquares = 0;
        for (int i = 0; i < bins; i++)
        {
            double c = min + ((i + 0.5) * width);
            total += histogram[i];
            sum += histogram[i] * c;
            sumSquares += histogram[i] * c * c;
        }

        double mean = sum / total;
        double variance = (sumSquares / total) - (mean * mean);
        double w0 = 0, m0 = 0, best = -1;
        int bestBin = 0;
        for (int i = 0; i < bins - 1; i++)
        {
            double c = min + ((i + 0.5) * width);
            w0 += histogram[i];
            m0 += histogram[i] * c;
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
        double threshold = min + ((bestBin + 1) * width);
        return new Result(threshold, variance > 0 ? Math.Clamp(best / variance, 0, 1) : 0);
    }
}

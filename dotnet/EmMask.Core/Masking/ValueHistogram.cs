namespace EmMask.Core.Masking;

/// <summary>An equal-width histogram of the finite values between their minimum and maximum.</summary>
internal sealed class ValueHistogram
{
    private ValueHistogram(double[] counts, float min, float max)
    {
        Counts = counts;
        Min = min;
        Max = max;
        Width = (max - min) / counts.Length;
    }

    /// <summary>Counts per bin (empty when there is no finite value or all values are equal).</summary>
    public double[] Counts { get; }

    /// <summary>Smallest finite value.</summary>
    public float Min { get; }

    /// <summary>Largest finite value.</summary>
    public float Max { get; }

    /// <summary>Bin width.</summary>
    public double Width { get; }

    /// <summary>True when the values span a range (at least two distinct finite values).</summary>
    public bool HasRange => Max > Min;

    /// <summary>Centre of bin <paramref name="i"/>.</summary>
    public double Centre(int i) => Min + ((i + 0.5) * Width);

    /// <summary>Builds the histogram; the largest value falls in the last bin.</summary>
    public static ValueHistogram Build(ReadOnlySpan<float> values, int bins)
    {
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
            return new ValueHistogram([], min, max);
        }

        var counts = new double[bins];
        double inverse = bins / (double)(max - min);
        foreach (float v in values)
        {
            if (float.IsFinite(v))
            {
                counts[Math.Min((int)((v - min) * inverse), bins - 1)]++;
            }
        }

        return new ValueHistogram(counts, min, max);
    }
}

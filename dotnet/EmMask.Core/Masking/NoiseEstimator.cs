using EmMask.Core.Volumes;

namespace EmMask.Core.Masking;

/// <summary>
/// Estimates the standard deviation of additive white noise from first differences along the longest of x, y, z
/// (x when it has at least two voxels): 1.4826 · MAD(d) / √2, on a strided sample of at most 2^18 differences.
/// Structure such as membranes is sparse in the differences, so the median absolute deviation tracks the noise.
/// </summary>
public static class NoiseEstimator
{
    private const int SampleLimit = 1 << 18;

    /// <summary>A floor so that noise-free synthetic volumes do not divide by zero.</summary>
    public const double Floor = 1e-4;

    /// <summary>Noise sigma of a normalised volume (>= <see cref="Floor"/>).</summary>
    public static double Estimate(Volume<float> volume)
    {
        var shape = volume.Shape;
        var span = volume.Span;
        int rows = shape.Z * shape.Y;
        float[] d;
        if (shape.X >= 2)
        {
            int step = Math.Max(1, (int)(((long)rows * (shape.X - 1) + SampleLimit - 1) / SampleLimit));
            int sampled = (rows + step - 1) / step;
            d = new float[sampled * (shape.X - 1)];
            for (int r = 0, k = 0; r < rows; r += step, k++)
            {
                var row = span.Slice(r * shape.X, shape.X);
                System.Numerics.Tensors.TensorPrimitives.Subtract(row[1..], row[..^1], d.AsSpan(k * (shape.X - 1), shape.X - 1));
            }
        }
        else
        {
            // A single column (x has length 1): differences along y within each slice, else along z.
            var diffs = new List<float>();
            int stride = shape.Y >= 2 ? 1 : shape.Y;
            int axisLength = shape.Y >= 2 ? shape.Y : shape.Z;
            for (int i = 0; i < span.Length; i++)
            {
                int coordinate = shape.Y >= 2 ? i % shape.Y : i / shape.Y;
                if (coordinate >= 1 && axisLength >= 2)
                {
                    diffs.Add(span[i] - span[i - stride]);
                }
            }

            d = diffs.ToArray();
        }

        if (d.Length == 0)
        {
            return Floor;
        }

        float median = Select.Median(d);
        for (int i = 0; i < d.Length; i++)
        {
            d[i] = Math.Abs(d[i] - median);
        }

        double mad = Select.Median(d);
        return Math.Max(1.4826 * mad / Math.Sqrt(2.0), Floor);
    }
}

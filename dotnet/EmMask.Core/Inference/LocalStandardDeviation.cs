using System.Numerics.Tensors;
using EmMask.Core.Volumes;

namespace EmMask.Core.Inference;

/// <summary>
/// A cheap texture score for tile skipping: the standard deviation in a (2r+1)³ box around each voxel (boxes
/// clipped at the borders). Flat resin scores near its noise level; membranes and organelles score high.
/// </summary>
public static class LocalStandardDeviation
{
    /// <summary>Computes the local standard deviation of <paramref name="input"/>.</summary>
    /// <param name="input">Any float volume.</param>
    /// <param name="radius">Box half-width in voxels, at least 1.</param>
    public static Volume<float> Compute(Volume<float> input, int radius)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentOutOfRangeException.ThrowIfLessThan(radius, 1);
        Shape3 s = input.Shape;
        var mean = input.Clone();
        var meanSq = input.Clone();
        TensorPrimitives.Multiply(meanSq.Span, meanSq.Span, meanSq.Span);
        foreach (var v in new[] { mean, meanSq })
        {
            // Box means are separable: one clipped moving average per axis.
            BoxMeanAxis(v.Span, s.Z * s.Y, s.X, s.X, 1, 1, radius);
            BoxMeanAxis(v.Span, s.Z, s.Y * s.X, s.Y, s.X, s.X, radius);
            BoxMeanAxis(v.Span, 1, 0, s.Z, s.Y * s.X, s.Y * s.X, radius);
        }

        Span<float> m = mean.Span, q = meanSq.Span;
        for (int i = 0; i < m.Length; i++)
        {
            m[i] = MathF.Sqrt(Math.Max(0f, q[i] - (m[i] * m[i])));
        }

        return mean;
    }

    /// <summary>
    /// Replaces every line along one axis by its clipped moving average. Lines start at
    /// o·outerStride + i (o &lt; outer, i &lt; inner) and step by <paramref name="stride"/>.
    /// </summary>
    private static void BoxMeanAxis(Span<float> data, int outer, int outerStride, int length, int stride, int inner, int radius)
    {
        if (length == 0)
        {
            return;
        }

        var prefix = new double[length + 1];
        for (int o = 0; o < outer; o++)
        {
            for (int i = 0; i < inner; i++)
            {
                int start = (o * outerStride) + i;
                for (int k = 0; k < length; k++)
                {
                    prefix[k + 1] = prefix[k] + data[start + (k * stride)];
                }

                for (int k = 0; k < length; k++)
                {
                    int lo = Math.Max(0, k - radius), hi = Math.Min(length, k + radius + 1);
                    data[start + (k * stride)] = (float)((prefix[hi] - prefix[lo]) / (hi - lo));
                }
            }
        }
    }
}

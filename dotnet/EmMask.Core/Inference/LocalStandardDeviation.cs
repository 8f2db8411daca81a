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
        var scratch = new float[input.Span.Length];
        foreach (var v in new[] { mean, meanSq })
        {
            // Box means are separable. z and y sum whole planes / rows (contiguous, vectorised) instead of
            // walking strided lines, which thrash the cache on large volumes.
            BoxMean(v.Span, scratch, blocks: 1, count: s.Z, blockLength: s.SliceLength, radius);
            BoxMean(scratch, v.Span, blocks: s.Z, count: s.Y, blockLength: s.X, radius);
            BoxMeanRows(v.Span, s.X, radius);
        }

        Span<float> m = mean.Span, q = meanSq.Span;
        for (int i = 0; i < m.Length; i++)
        {
            m[i] = MathF.Sqrt(Math.Max(0f, q[i] - (m[i] * m[i])));
        }

        return mean;
    }

    /// <summary>
    /// Within each of <paramref name="blocks"/> blocks of <paramref name="count"/> contiguous sub-blocks of
    /// <paramref name="blockLength"/> values, writes the clipped mean of sub-blocks k−r..k+r into destination k.
    /// </summary>
    private static void BoxMean(ReadOnlySpan<float> source, Span<float> destination, int blocks, int count, int blockLength, int radius)
    {
        for (int b = 0; b < blocks; b++)
        {
            int baseOffset = b * count * blockLength;
            for (int k = 0; k < count; k++)
            {
                int lo = Math.Max(0, k - radius), hi = Math.Min(count, k + radius + 1);
                Span<float> dst = destination.Slice(baseOffset + (k * blockLength), blockLength);
                source.Slice(baseOffset + (lo * blockLength), blockLength).CopyTo(dst);
                for (int j = lo + 1; j < hi; j++)
                {
                    TensorPrimitives.Add(dst, source.Slice(baseOffset + (j * blockLength), blockLength), dst);
                }

                TensorPrimitives.Multiply(dst, 1f / (hi - lo), dst);
            }
        }
    }

    /// <summary>Clipped moving mean along every x row, in place, with a running sum in double.</summary>
    private static void BoxMeanRows(Span<float> data, int rowLength, int radius)
    {
        if (rowLength == 0)
        {
            return;
        }

        var prefix = new double[rowLength + 1];
        for (int start = 0; start < data.Length; start += rowLength)
        {
            Span<float> row = data.Slice(start, rowLength);
            for (int k = 0; k < rowLength; k++)
            {
                prefix[k + 1] = prefix[k] + row[k];
            }

            for (int k = 0; k < rowLength; k++)
            {
                int lo = Math.Max(0, k - radius), hi = Math.Min(rowLength, k + radius + 1);
                row[k] = (float)((prefix[hi] - prefix[lo]) / (hi - lo));
            }
        }
    }
}

using System.Numerics.Tensors;
using EmMask.Core.Volumes;

namespace EmMask.Learning.Preprocessing;

/// <summary>
/// The one input normalisation used at training and inference time: robust percentile scaling
/// <c>(v - p1) / (p99 - p1)</c>, where p1 and p99 are the 1st and 99th percentiles of the whole
/// volume, so typical tissue/resin grey values land in about [0, 1] whatever the bit depth or
/// contrast polarity. Values are not clipped (outliers stay informative but bounded by the
/// percentile range). A constant volume maps to all zeros. Percentiles are estimated from a
/// deterministic stride subsample of at most 2^20 voxels so huge volumes normalise quickly;
/// the estimate is exact for volumes up to that size.
/// </summary>
public static class IntensityNormalization
{
    /// <summary>Identifier stored in model metadata; change it whenever the maths changes.</summary>
    public const string Id = "percentile-1-99-v1";

    /// <summary>Lower percentile (1).</summary>
    public const double LowPercentile = 1.0;

    /// <summary>Upper percentile (99).</summary>
    public const double HighPercentile = 99.0;

    private const int MaxSamples = 1 << 20;

    /// <summary>Computes (p1, p99) of <paramref name="values"/>; NaNs are ignored.</summary>
    public static (float Low, float High) Percentiles(ReadOnlySpan<float> values)
    {
        if (values.IsEmpty) return (0f, 0f);
        int stride = Math.Max(1, (int)Math.Ceiling(values.Length / (double)MaxSamples));
        var sample = new float[(values.Length + stride - 1) / stride];
        int n = 0;
        for (int i = 0; i < values.Length; i += stride)
            if (!float.IsNaN(values[i])) sample[n++] = values[i];
        if (n == 0) return (0f, 0f);
        var s = sample.AsSpan(0, n);
        s.Sort();
        return (Quantile(s, LowPercentile / 100), Quantile(s, HighPercentile / 100));
    }

    /// <summary>
    /// (p1, p99) of a uint8, uint16 or float32 volume without a float copy of it: the same regular sample as
    /// <see cref="Percentiles(ReadOnlySpan{float})"/> of its float values, so the same result.
    /// </summary>
    /// <exception cref="ArgumentException">Unsupported voxel type.</exception>
    public static (float Low, float High) Percentiles(IVolume raw)
    {
        ArgumentNullException.ThrowIfNull(raw);
        return raw switch
        {
            Volume<float> f => Percentiles(f.Span),
            Volume<byte> b => Percentiles(Sample(b.Span, v => v)),
            Volume<ushort> u => Percentiles(Sample(u.Span, v => v)),
            _ => throw new ArgumentException($"Unsupported volume type {raw.GetType().Name}.", nameof(raw)),
        };
    }

    // Every stride-th value as float, with the stride Percentiles uses, so that its own stride over this is 1.
    private static float[] Sample<T>(ReadOnlySpan<T> values, Func<T, float> toFloat)
    {
        int stride = Math.Max(1, (int)Math.Ceiling(values.Length / (double)MaxSamples));
        var sample = new float[(values.Length + stride - 1) / stride];
        for (int i = 0, n = 0; i < values.Length; i += stride, n++)
        {
            sample[n] = toFloat(values[i]);
        }

        return sample;
    }

    /// <summary>Normalises <paramref name="source"/> into <paramref name="destination"/> (may alias) with the volume's own percentiles.</summary>
    public static void Normalize(ReadOnlySpan<float> source, Span<float> destination)
    {
        var (lo, hi) = Percentiles(source);
        Apply(source, destination, lo, hi);
    }

    /// <summary>Applies <c>(v - low) / (high - low)</c>; writes zeros when high == low.</summary>
    public static void Apply(ReadOnlySpan<float> source, Span<float> destination, float low, float high)
    {
        if (destination.Length < source.Length) throw new ArgumentException("destination is shorter than source", nameof(destination));
        float range = high - low;
        if (!(range > 0))
        {
            destination[..source.Length].Clear();
            return;
        }
        float scale = 1f / range;
        var dst = destination[..source.Length];
        TensorPrimitives.Subtract(source, low, dst);
        TensorPrimitives.Multiply(dst, scale, dst);
    }

    /// <summary>Converts any supported volume (uint8, uint16, float32) to a new normalised float volume.</summary>
    /// <exception cref="ArgumentException">Unsupported voxel type.</exception>
    public static Volume<float> ToNormalizedFloat(IVolume raw)
    {
        ArgumentNullException.ThrowIfNull(raw);
        var result = ToFloat(raw);
        Normalize(result.Span, result.Span);
        return result;
    }

    /// <summary>The voxels of a uint8, uint16 or float32 volume as a new float volume (not normalised).</summary>
    /// <exception cref="ArgumentException">Unsupported voxel type.</exception>
    public static Volume<float> ToFloat(IVolume raw)
    {
        ArgumentNullException.ThrowIfNull(raw);
        var result = new Volume<float>(raw.Shape, raw.VoxelSize);
        var dst = result.Span;
        switch (raw)
        {
            case Volume<float> f: f.Span.CopyTo(dst); break;
            case Volume<byte> b: { var s = b.Span; for (int i = 0; i < s.Length; i++) dst[i] = s[i]; break; }
            case Volume<ushort> u: { var s = u.Span; for (int i = 0; i < s.Length; i++) dst[i] = s[i]; break; }
            default: throw new ArgumentException($"Unsupported volume type {raw.GetType().Name}.", nameof(raw));
        }
        return result;
    }

    // numpy's default 'linear' interpolation between closest ranks.
    private static float Quantile(ReadOnlySpan<float> sorted, double q)
    {
        double pos = q * (sorted.Length - 1);
        int i = (int)Math.Floor(pos);
        int j = Math.Min(i + 1, sorted.Length - 1);
        double f = pos - i;
        return (float)(sorted[i] + (sorted[j] - sorted[i]) * f);
    }
}

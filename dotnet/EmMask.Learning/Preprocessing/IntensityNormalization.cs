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
/// <para>
/// Of a volume (not a bare span), sections that hold one value throughout are left out of the percentiles
/// (<see cref="LostSections"/>): a lost section of a serial-section stack, stored blank, saturated or NaN, carries no
/// image, and its value would become the 1st or 99th percentile once it holds 1 % of the voxels (one blank section of
/// 16 in an all-tissue Platynereis stack: the U-Net called 43 % of the other sections' tissue non-brain). A volume
/// without such a section keeps exactly the sample and percentiles it had before; one whose sections are all constant
/// keeps all of them.
/// </para>
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
    /// <see cref="Percentiles(ReadOnlySpan{float})"/> of its float values, less the voxels of its lost sections
    /// (<see cref="LostSections"/>), so without lost sections the same result.
    /// </summary>
    /// <exception cref="ArgumentException">Unsupported voxel type.</exception>
    public static (float Low, float High) Percentiles(IVolume raw)
    {
        ArgumentNullException.ThrowIfNull(raw);
        var lost = LostSections(raw);
        int plane = raw.Shape.SliceLength;
        return raw switch
        {
            Volume<float> f => Percentiles(Sample(f.Span, v => v, plane, lost)),
            Volume<byte> b => Percentiles(Sample(b.Span, v => v, plane, lost)),
            Volume<ushort> u => Percentiles(Sample(u.Span, v => v, plane, lost)),
            _ => throw new ArgumentException($"Unsupported volume type {raw.GetType().Name}.", nameof(raw)),
        };
    }

    /// <summary>
    /// Per section, whether it is lost: it holds one value throughout (NaN voxels ignored; a section of NaN alone is
    /// lost too). All false when every section is lost (a constant volume keeps its voxels).
    /// </summary>
    public static bool[] LostSections(IVolume raw)
    {
        ArgumentNullException.ThrowIfNull(raw);
        var lost = raw switch
        {
            Volume<float> f => Constant(f.Span, raw.Shape, float.IsNaN),
            Volume<byte> b => Constant(b.Span, raw.Shape, _ => false),
            Volume<ushort> u => Constant(u.Span, raw.Shape, _ => false),
            _ => throw new ArgumentException($"Unsupported volume type {raw.GetType().Name}.", nameof(raw)),
        };
        if (Array.TrueForAll(lost, l => l))
        {
            Array.Clear(lost);
        }

        return lost;
    }

    // Per section: do its values (those not skipped) all equal one value?
    private static bool[] Constant<T>(ReadOnlySpan<T> values, Shape3 shape, Func<T, bool> skip)
        where T : IEquatable<T>
    {
        int plane = shape.SliceLength;
        var constant = new bool[shape.Z];
        for (int z = 0; z < shape.Z; z++)
        {
            var section = values.Slice(z * plane, plane);
            bool seen = false, one = true;
            T first = default!;
            foreach (var v in section)
            {
                if (skip(v))
                {
                    continue;
                }

                if (!seen)
                {
                    (first, seen) = (v, true);
                }
                else if (!v.Equals(first))
                {
                    one = false;
                    break;
                }
            }

            constant[z] = one;
        }

        return constant;
    }

    // Every stride-th value as float (NaNs kept: the span overload ignores them), with the stride the span overload uses
    // on the whole volume, so that its own stride over this is 1; the values of lost sections are left out.
    private static float[] Sample<T>(ReadOnlySpan<T> values, Func<T, float> toFloat, int plane, bool[] lost)
    {
        int stride = Math.Max(1, (int)Math.Ceiling(values.Length / (double)MaxSamples));
        var sample = new List<float>((values.Length + stride - 1) / stride);
        for (int i = 0; i < values.Length; i += stride)
        {
            if (!lost[i / plane])
            {
                sample.Add(toFloat(values[i]));
            }
        }

        return sample.ToArray();
    }

    /// <summary>Normalises <paramref name="source"/> into <paramref name="destination"/> (may alias) with the volume's own percentiles.</summary>
    public static void Normalize(ReadOnlySpan<float> source, Span<float> destination)
    {
        var (lo, hi) = Percentiles(source);
        Apply(source, destination, lo, hi);
    }

    /// <summary>Normalises <paramref name="volume"/> in place with its own percentiles, its lost sections left out of them (<see cref="Percentiles(IVolume)"/>).</summary>
    public static void Normalize(Volume<float> volume)
    {
        ArgumentNullException.ThrowIfNull(volume);
        var (lo, hi) = Percentiles(volume);
        Apply(volume.Span, volume.Span, lo, hi);
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
        Normalize(result);
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

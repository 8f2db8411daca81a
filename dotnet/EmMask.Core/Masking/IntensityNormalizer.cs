using System.Numerics;
using System.Numerics.Tensors;
using EmMask.Core.Volumes;

namespace EmMask.Core.Masking;

/// <summary>
/// Global robust intensity normalisation: the 1st and 99th percentiles map to 0 and 1 (values outside are kept, not clipped),
/// so brightness and contrast settings of the microscope do not matter. Percentiles are exact for uint8/uint16 (histogram) and
/// taken on a fixed strided sample of at most 2^20 voxels for float32. Non-finite float voxels are replaced by the median.
/// </summary>
public static class IntensityNormalizer
{
    private const int SampleLimit = 1 << 20;

    /// <summary>The outcome of <see cref="Normalize(IVolume, CancellationToken)"/>.</summary>
    /// <param name="Normalized">The normalised float32 volume.</param>
    /// <param name="Low">Input value mapped to 0.</param>
    /// <param name="High">Input value mapped to 1.</param>
    /// <param name="NonFinite">Count of NaN/Inf voxels that were replaced.</param>
    /// <param name="IsConstant">True when the volume holds a single value (nothing to normalise).</param>
    public readonly record struct Result(Volume<float> Normalized, double Low, double High, long NonFinite, bool IsConstant);

    /// <summary>Normalises a uint8, uint16 or float32 volume into a new float32 volume.</summary>
    /// <exception cref="ArgumentException">The volume is empty or has no finite value.</exception>
    public static Result Normalize(IVolume volume, CancellationToken cancellationToken = default) =>
        Normalize(volume, null, cancellationToken);

    /// <summary>Normalises into <paramref name="destination"/> (same shape; a new volume when null).</summary>
    public static Result Normalize(IVolume volume, Volume<float>? destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(volume);
        if (volume.Shape.IsEmpty)
        {
            throw new InvalidVolumeException($"The volume has an empty axis: shape {volume.Shape}.");
        }

        return volume switch
        {
            Volume<byte> v => FromIntegers(v, 256, Target(v, destination), cancellationToken),
            Volume<ushort> v => FromIntegers(v, 65536, Target(v, destination), cancellationToken),
            Volume<float> v => FromFloats(v, Target(v, destination), cancellationToken),
            _ => throw new NotSupportedException($"Voxel type {volume.VoxelType} is not supported."),
        };
    }

    private static Volume<float> Target<T>(Volume<T> volume, Volume<float>? destination)
        where T : unmanaged
    {
        if (destination is null)
        {
            return volume.Like<float>();
        }

        if (destination.Shape != volume.Shape)
        {
            throw new ArgumentException($"Destination shape {destination.Shape} differs from the volume's {volume.Shape}.", nameof(destination));
        }

        destination.VoxelSize = volume.VoxelSize;
        return destination;
    }

    // Generic over the integer type so the JIT specialises the per-voxel loops (no delegate call per voxel);
    // histograms are counted per slab on all cores and summed.
    private static Result FromIntegers<T>(Volume<T> volume, int levels, Volume<float> result, CancellationToken ct)
        where T : unmanaged, IBinaryInteger<T>
    {
        var histogram = new long[levels];
        var span = volume.Span;
        int slice = volume.Shape.SliceLength;
        var gate = new object();
        Parallel.For(
            0,
            volume.Shape.Z,
            new ParallelOptions { CancellationToken = ct },
            () => new long[levels],
            (z, _, local) =>
            {
                foreach (var v in volume.Span.Slice((int)z * slice, slice))
                {
                    local[int.CreateTruncating(v)]++;
                }

                return local;
            },
            local =>
            {
                lock (gate)
                {
                    for (int i = 0; i < levels; i++)
                    {
                        histogram[i] += local[i];
                    }
                }
            });

        ct.ThrowIfCancellationRequested();
        long n = span.Length;
        double lo = RankFromHistogram(histogram, (long)Math.Floor(0.01 * (n - 1)));
        double hi = RankFromHistogram(histogram, (long)Math.Floor(0.99 * (n - 1)));
        (lo, hi, bool constant) = Widen(lo, hi, RankFromHistogram(histogram, 0), RankFromHistogram(histogram, n - 1));

        // A lookup table turns the per-voxel affine map into one load.
        var table = new float[levels];
        double scale = constant ? 0 : 1.0 / (hi - lo);
        for (int i = 0; i < levels; i++)
        {
            table[i] = (float)((i - lo) * scale);
        }

        Parallel.For(0, volume.Shape.Z, new ParallelOptions { CancellationToken = ct }, z =>
        {
            var src = volume.Span.Slice(z * slice, slice);
            var dst = result.Span.Slice(z * slice, slice);
            for (int i = 0; i < src.Length; i++)
            {
                dst[i] = table[int.CreateTruncating(src[i])];
            }
        });

        return new Result(result, lo, hi, 0, constant);
    }

    private static Result FromFloats(Volume<float> volume, Volume<float> result, CancellationToken ct)
    {
        var span = volume.Span;
        long nonFinite = 0;
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        for (int i = 0; i < span.Length; i++)
        {
            float v = span[i];
            if (!float.IsFinite(v))
            {
                nonFinite++;
                continue;
            }

            min = Math.Min(min, v);
            max = Math.Max(max, v);
        }

        if (nonFinite == span.Length)
        {
            throw new InvalidVolumeException("The volume has no finite values (all NaN or infinite).");
        }

        ct.ThrowIfCancellationRequested();
        int step = (int)Math.Max(1, (span.Length + SampleLimit - 1) / SampleLimit);
        var sample = new List<float>(Math.Min(span.Length, SampleLimit) + 1);
        for (int i = 0; i < span.Length; i += step)
        {
            if (float.IsFinite(span[i]))
            {
                sample.Add(span[i]);
            }
        }

        if (sample.Count == 0)
        {
            sample.Add(min);
        }

        var sorted = sample.ToArray();
        Array.Sort(sorted);
        double lo = sorted[(int)Math.Floor(0.01 * (sorted.Length - 1))];
        double hi = sorted[(int)Math.Floor(0.99 * (sorted.Length - 1))];
        float median = sorted[(sorted.Length - 1) / 2];
        (lo, hi, bool constant) = Widen(lo, hi, min, max);

        var dst = result.Span;
        span.CopyTo(dst);
        if (nonFinite > 0)
        {
            for (int i = 0; i < dst.Length; i++)
            {
                if (!float.IsFinite(dst[i]))
                {
                    dst[i] = median;
                }
            }
        }

        if (constant)
        {
            dst.Clear();
        }
        else
        {
            float scale = (float)(1.0 / (hi - lo));
            TensorPrimitives.Subtract(dst, (float)lo, dst);
            TensorPrimitives.Multiply(dst, scale, dst);
        }

        return new Result(result, lo, hi, nonFinite, constant);
    }

    // When 98% of voxels share one value (zero padding around a small stack), the percentiles coincide;
    // fall back to the full range so the remaining 2% are still normalised. Only min == max is constant.
    private static (double Lo, double Hi, bool Constant) Widen(double lo, double hi, double min, double max)
    {
        if (hi - lo > 1e-12 * Math.Max(1.0, Math.Abs(hi)))
        {
            return (lo, hi, false);
        }

        if (max - min > 1e-12 * Math.Max(1.0, Math.Abs(max)))
        {
            return (min, max, false);
        }

        return (min, max, true);
    }

    private static double RankFromHistogram(long[] histogram, long rank)
    {
        long seen = 0;
        for (int i = 0; i < histogram.Length; i++)
        {
            seen += histogram[i];
            if (seen > rank)
            {
                return i;
            }
        }

        return histogram.Length - 1;
    }
}

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
    /// <param name="Fill">The value non-finite float voxels took (the median), NaN when there were none to replace.</param>
    public readonly record struct Result(Volume<float> Normalized, double Low, double High, long NonFinite, bool IsConstant, float Fill = float.NaN)
    {
        /// <summary>The map this result applied, to normalise other parts of the same volume identically (block-wise work).</summary>
        public IntensityMap Map => new(Low, High, IsConstant, Fill);
    }

    /// <summary>
    /// A fixed normalisation, measured once on a whole volume (or a sample of it) and applied to its blocks: per-block
    /// percentiles would give every block its own contrast and the blocks would show as seams.
    /// </summary>
    /// <param name="Low">Input value mapped to 0.</param>
    /// <param name="High">Input value mapped to 1.</param>
    /// <param name="IsConstant">The measured volume held one value: everything maps to 0.</param>
    /// <param name="Fill">The value non-finite float voxels take (NaN: the measured data had none; they then take Low).</param>
    public readonly record struct IntensityMap(double Low, double High, bool IsConstant, float Fill);

    /// <summary>Normalises a uint8, uint16 or float32 volume with a map measured elsewhere (<see cref="Result.Map"/>).</summary>
    public static Result Normalize(IVolume volume, IntensityMap map, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(volume);
        if (volume.Shape.IsEmpty)
        {
            throw new InvalidVolumeException($"The volume has an empty axis: shape {volume.Shape}.");
        }

        switch (volume)
        {
            case Volume<byte> v:
                var bytes = Target(v, null);
                MapIntegers(v, 256, map.Low, map.High, map.IsConstant, bytes, cancellationToken);
                return new Result(bytes, map.Low, map.High, 0, map.IsConstant);
            case Volume<ushort> v:
                var words = Target(v, null);
                MapIntegers(v, 65536, map.Low, map.High, map.IsConstant, words, cancellationToken);
                return new Result(words, map.Low, map.High, 0, map.IsConstant);
            case Volume<float> v:
                var floats = Target(v, null);
                long nonFinite = CountNonFinite(v.Span);
                MapFloats(v, map.Low, map.High, map.IsConstant, float.IsNaN(map.Fill) ? (float)map.Low : map.Fill, nonFinite, floats);
                return new Result(floats, map.Low, map.High, nonFinite, map.IsConstant, map.Fill);
            default:
                throw new NotSupportedException($"Voxel type {volume.VoxelType} is not supported.");
        }
    }

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

        MapIntegers(volume, levels, lo, hi, constant, result, ct);
        return new Result(result, lo, hi, 0, constant);
    }

    // A lookup table turns the per-voxel affine map into one load.
    private static void MapIntegers<T>(Volume<T> volume, int levels, double lo, double hi, bool constant, Volume<float> result, CancellationToken ct)
        where T : unmanaged, IBinaryInteger<T>
    {
        int slice = volume.Shape.SliceLength;
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
    }

    private static long CountNonFinite(ReadOnlySpan<float> span)
    {
        long count = 0;
        foreach (float v in span)
        {
            count += float.IsFinite(v) ? 0 : 1;
        }

        return count;
    }

    private static void MapFloats(Volume<float> volume, double lo, double hi, bool constant, float fill, long nonFinite, Volume<float> result)
    {
        var dst = result.Span;
        volume.Span.CopyTo(dst);
        if (nonFinite > 0)
        {
            for (int i = 0; i < dst.Length; i++)
            {
                if (!float.IsFinite(dst[i]))
                {
                    dst[i] = fill;
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

        MapFloats(volume, lo, hi, constant, median, nonFinite, result);
        return new Result(result, lo, hi, nonFinite, constant, nonFinite > 0 ? median : float.NaN);
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

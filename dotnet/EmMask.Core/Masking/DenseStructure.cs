using System.Buffers;
using System.Numerics.Tensors;
using EmMask.Core.Filters;
using EmMask.Core.Volumes;

namespace EmMask.Core.Masking;

/// <summary>
/// Electron-dense structures: voxels whose smoothed intensity lies far beyond the tissue's, on the side away from resin
/// (more stain than tissue: the cuticle of a trachea), and the non-dense voxels they enclose (its lumen). Both are
/// non-brain. Texture alone marks them brain: a ringed cuticle varies in every orientation.
/// </summary>
/// <remarks>
/// The reference comes from the volume itself: the lower medians of the smoothed image s where the texture vote says
/// tissue (m_t) and resin (m_r), and the tissue's spread σ_t = 1.4826·median|s − m_t|, all on a regular sample of at
/// most 2¹⁶ voxels. With sgn = sign(m_t − m_r), the density score is z = sgn·(s − m_t)/σ_t, so polarity does
/// not matter. A voxel with z &gt; k is dense; its vote is scaled by sigmoid((k − z)/0.25). A non-dense voxel that has
/// dense voxels on both sides within <c>gap</c> voxels along at least two of the three axes is enclosed, and its vote
/// becomes 0.
/// </remarks>
internal static class DenseStructure
{
    /// <summary>Width of the soft density vote, in units of the tissue's spread.</summary>
    public const float Softness = 0.25f;

    /// <summary>Smallest share of the sample each class (tissue, resin) must have for a reference.</summary>
    public const double MinimumClassShare = 0.005;

    /// <summary>Smallest |m_t − m_r| / σ_t for which "away from resin" has a direction.</summary>
    public const double MinimumSeparation = 0.25;

    /// <summary>Largest number of voxels the reference is measured on.</summary>
    public const int SampleLimit = 1 << 16;

    private const byte DenseFlag = 0x80;

    /// <summary>The tissue's reference intensity, spread and the direction away from resin.</summary>
    /// <param name="TissueMedian">m_t.</param>
    /// <param name="ResinMedian">m_r.</param>
    /// <param name="TissueSpread">σ_t.</param>
    internal readonly record struct Reference(float TissueMedian, float ResinMedian, float TissueSpread)
    {
        /// <summary>+1 when tissue is brighter than resin, else −1.</summary>
        public float Direction => TissueMedian >= ResinMedian ? 1f : -1f;
    }

    /// <summary>
    /// The reference from the log texture ratio (tissue where it reaches <paramref name="logThreshold"/>, that is where
    /// the vote is at least 0.5) and the smoothed image, or null when one class is (nearly) absent, the tissue has no
    /// spread, or tissue and resin are too close to tell which side is away from resin.
    /// </summary>
    /// <param name="logRatio">The log texture ratio, C order.</param>
    /// <param name="logThreshold">Tissue where the log ratio reaches this.</param>
    /// <param name="smoothed">The smoothed image, same layout.</param>
    /// <param name="rowLength">Length of the fastest axis (x): the sample's stride is made coprime with it, so that the
    /// sample visits every x instead of a few columns.</param>
    public static Reference? Measure(ReadOnlySpan<float> logRatio, float logThreshold, ReadOnlySpan<float> smoothed, int rowLength = 1)
    {
        // Every k-th voxel, k = ⌈n / 2¹⁶⌉ raised until coprime with the row length: medians of 65536 values are exact
        // enough and cheap.
        int step = ClassicalMasker.SampleStride(logRatio.Length, SampleLimit, rowLength);

        int samples = (logRatio.Length + step - 1) / step;
        var tissue = new float[samples];
        var resin = new float[samples];
        int tissueCount = 0, resinCount = 0;
        for (int i = 0; i < logRatio.Length; i += step)
        {
            if (logRatio[i] >= logThreshold)
            {
                tissue[tissueCount++] = smoothed[i];
            }
            else
            {
                resin[resinCount++] = smoothed[i];
            }
        }

        int minimum = Math.Max(1, (int)(MinimumClassShare * samples));
        if (tissueCount < minimum || resinCount < minimum)
        {
            return null;
        }

        Array.Resize(ref tissue, tissueCount);
        Array.Resize(ref resin, resinCount);
        float mt = Select.Median(tissue);
        float mr = Select.Median(resin);
        for (int i = 0; i < tissue.Length; i++)
        {
            tissue[i] = Math.Abs(tissue[i] - mt);
        }

        float spread = 1.4826f * Select.Median(tissue);
        if (!(spread > 0) || Math.Abs(mt - mr) < MinimumSeparation * spread)
        {
            return null;
        }

        return new Reference(mt, mr, spread);
    }

    /// <summary>
    /// Multiplies a chunk of votes by sigmoid((k − z)/softness), z the density score of <paramref name="smoothed"/>, and,
    /// when <paramref name="flags"/> is not empty, marks the dense voxels (z &gt; k) there for
    /// <see cref="CountEnclosures"/>. <paramref name="scratch"/> holds at least a chunk.
    /// </summary>
    public static void ScaleVotes(Span<float> vote, ReadOnlySpan<float> smoothed, Reference reference, double threshold, Span<float> scratch, Span<byte> flags)
    {
        float scale = reference.Direction / reference.TissueSpread;          // z = scale·s − scale·m_t
        float a = -scale / Softness;
        float b = (float)((threshold + (scale * reference.TissueMedian)) / Softness);
        var f = scratch[..vote.Length];
        TensorPrimitives.Multiply(smoothed, a, f);
        TensorPrimitives.Add(f, b, f);
        TensorPrimitives.Sigmoid(f, f);
        TensorPrimitives.Multiply(vote, f, vote);
        if (!flags.IsEmpty)
        {
            for (int i = 0; i < f.Length; i++)
            {
                flags[i] = f[i] < 0.5f ? DenseFlag : (byte)0; // z > k
            }
        }
    }

    /// <summary>Sets the vote to 0 where <see cref="CountEnclosures"/> found a voxel enclosed along two or more axes.</summary>
    public static void ZeroEnclosed(Span<float> vote, ReadOnlySpan<byte> flags)
    {
        for (int i = 0; i < vote.Length; i++)
        {
            if (flags[i] is >= 2 and < DenseFlag)
            {
                vote[i] = 0;
            }
        }
    }

    /// <summary>
    /// Adds 1 to each non-dense voxel per axis along which it lies in a run of at most <paramref name="gap"/> non-dense
    /// voxels with a dense voxel at each end (the volume border does not close a run).
    /// </summary>
    internal static void CountEnclosures(Shape3 shape, byte[] flags, int gap, CancellationToken ct)
    {
        int nz = shape.Z, ny = shape.Y, nx = shape.X;
        long plane = (long)ny * nx;
        var options = new ParallelOptions { MaxDegreeOfParallelism = ParallelLines.Degree, CancellationToken = ct };

        // x and y runs: one z slice at a time (a slice is in cache).
        Parallel.For(0, nz, options, z =>
        {
            var slice = flags.AsSpan((int)(z * plane), (int)plane);
            for (int y = 0; y < ny; y++)
            {
                var row = slice.Slice(y * nx, nx);
                int previous = -1;
                for (int x = NextDense(row, 0); x >= 0; x = NextDense(row, x + 1))
                {
                    if (previous >= 0 && x - previous - 1 <= gap)
                    {
                        for (int i = previous + 1; i < x; i++)
                        {
                            row[i]++;
                        }
                    }

                    previous = x;
                }
            }

            var lastY = ArrayPool<int>.Shared.Rent(nx);
            try
            {
                ColumnRuns(slice, lastY.AsSpan(0, nx), ny, nx, nx, gap);
            }
            finally
            {
                ArrayPool<int>.Shared.Return(lastY);
            }
        });

        // z runs: one y row at a time, all x at once (each step reads one row of a slice).
        Parallel.For(0, ny, options, y =>
        {
            var lastZ = ArrayPool<int>.Shared.Rent(nx);
            try
            {
                ColumnRuns(flags.AsSpan(y * nx), lastZ.AsSpan(0, nx), nz, nx, (int)plane, gap);
            }
            finally
            {
                ArrayPool<int>.Shared.Return(lastZ);
            }
        });
    }

    /// <summary>Index of the first dense voxel of <paramref name="row"/> at or after <paramref name="from"/>, or −1 (a vector search: dense voxels are few).</summary>
    private static int NextDense(ReadOnlySpan<byte> row, int from)
    {
        int found = from < row.Length ? row[from..].IndexOfAnyInRange(DenseFlag, byte.MaxValue) : -1;
        return found < 0 ? -1 : from + found;
    }

    /// <summary>Runs along an axis with <paramref name="steps"/> positions <paramref name="stride"/> apart, for <paramref name="width"/> adjacent columns.</summary>
    private static void ColumnRuns(Span<byte> data, Span<int> last, int steps, int width, int stride, int gap)
    {
        last.Fill(-1);
        for (int k = 0; k < steps; k++)
        {
            var row = data.Slice(k * stride, width);
            for (int x = NextDense(row, 0); x >= 0; x = NextDense(row, x + 1))
            {
                int previous = last[x];
                if (previous >= 0 && k - previous - 1 <= gap)
                {
                    for (int j = previous + 1; j < k; j++)
                    {
                        data[(j * stride) + x]++;
                    }
                }

                last[x] = k;
            }
        }
    }
}

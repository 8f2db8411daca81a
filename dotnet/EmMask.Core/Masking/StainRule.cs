using System.Numerics.Tensors;

namespace EmMask.Core.Masking;

/// <summary>
/// Stained, flat material is tissue. Resin carries no stain, so anything more stained than the tissue itself (a dense
/// surface layer, a basal lamina, cuticle, myelin, a dark nucleus) is specimen even where it has no texture. Without this
/// rule the texture measure cuts the dark fringe at a tissue edge away (the real N2V SEM image: non-brain IoU 0.64
/// without it, 0.88 with it in the prototype).
/// </summary>
/// <remarks>
/// The reference comes from the volume itself, on a regular sample of at most 2¹⁶ valid voxels: the lower medians of the
/// smoothed image s where the texture says tissue (m_t) and resin (m_r), and the tissue's spread σ_t = 1.4826·median|s − m_t|.
/// With sgn = sign(m_t − m_r) the stain score is z = sgn·(s − m_t)/σ_t, so polarity does not matter: z &gt; 0 lies on the
/// side away from resin. The vote becomes max(vote, sigmoid((z − k)/0.25)). The rule is skipped when either class
/// holds under 0.5% of the sample, when the tissue has no spread, or when |m_t − m_r| &lt; σ_t/4 (no side is "away
/// from resin").
/// </remarks>
internal static class StainRule
{
    /// <summary>Width of the soft stain vote, in units of the tissue's spread.</summary>
    public const float Softness = 0.25f;

    /// <summary>Smallest share of the sample each class (tissue, resin) must have for a reference.</summary>
    public const double MinimumClassShare = 0.005;

    /// <summary>Smallest |m_t − m_r| / σ_t for which "away from resin" has a direction.</summary>
    public const double MinimumSeparation = 0.25;

    /// <summary>Largest number of voxels the reference is measured on.</summary>
    public const int SampleLimit = 1 << 16;

    /// <summary>The tissue's reference intensity, spread and the direction away from resin.</summary>
    internal readonly record struct Reference(float TissueMedian, float ResinMedian, float TissueSpread)
    {
        /// <summary>+1 when tissue is brighter than resin, else −1.</summary>
        public float Direction => TissueMedian >= ResinMedian ? 1f : -1f;

        /// <summary>The stain score's slope: z = Scale·(s − m_t).</summary>
        public float Scale => Direction / TissueSpread;
    }

    /// <summary>The regular sample (at most <see cref="SampleLimit"/>) of valid voxels both rules are measured on: log ratio and smoothed image, in scan order.</summary>
    internal readonly record struct Sample(float[] LogRatio, float[] Smoothed)
    {
        /// <summary>Every <see cref="ClassicalMasker.SampleStride"/>-th voxel where <paramref name="valid"/> is set (or every one when empty).</summary>
        public static Sample Draw(ReadOnlySpan<float> logRatio, ReadOnlySpan<float> smoothed, ReadOnlySpan<byte> valid, int rowLength)
        {
            int step = ClassicalMasker.SampleStride(logRatio.Length, SampleLimit, rowLength);
            var ratios = new List<float>((logRatio.Length / step) + 1);
            var values = new List<float>(ratios.Capacity);
            for (int i = 0; i < logRatio.Length; i += step)
            {
                if (valid.IsEmpty || valid[i] != 0)
                {
                    ratios.Add(logRatio[i]);
                    values.Add(smoothed[i]);
                }
            }

            return new Sample([.. ratios], [.. values]);
        }
    }

    /// <summary>The reference, or null when the rule does not apply (see remarks).</summary>
    public static Reference? Measure(Sample sample, float logThreshold)
    {
        var tissue = new List<float>();
        var resin = new List<float>();
        for (int i = 0; i < sample.LogRatio.Length; i++)
        {
            (sample.LogRatio[i] >= logThreshold ? tissue : resin).Add(sample.Smoothed[i]);
        }

        return FromClasses(tissue, resin, sample.LogRatio.Length);
    }

    /// <summary>
    /// The reference from the two classes' samples of the smoothed image (<paramref name="total"/>: the whole sample's
    /// size, of which each class must hold <see cref="MinimumClassShare"/>), or null when the rule does not apply.
    /// </summary>
    public static Reference? FromClasses(List<float> tissue, List<float> resin, long total)
    {
        long minimum = Math.Max(1, (long)(MinimumClassShare * total));
        if (tissue.Count < minimum || resin.Count < minimum)
        {
            return null;
        }

        float[] t = [.. tissue];
        float mt = Select.Median(t);
        float mr = Select.Median([.. resin]);
        for (int i = 0; i < t.Length; i++)
        {
            t[i] = Math.Abs(t[i] - mt);
        }

        float spread = 1.4826f * Select.Median(t);
        if (!(spread > 0) || Math.Abs(mt - mr) < MinimumSeparation * spread)
        {
            return null;
        }

        return new Reference(mt, mr, spread);
    }

    /// <summary>Raises a chunk of votes to sigmoid((z − k)/softness) where that is larger. <paramref name="scratch"/> holds a chunk.</summary>
    public static void RaiseVotes(Span<float> vote, ReadOnlySpan<float> smoothed, Reference reference, double threshold, Span<float> scratch, ReadOnlySpan<byte> walls = default, ReadOnlySpan<byte> valid = default)
    {
        float scale = reference.Scale; // z = scale·s − scale·m_t
        float a = scale / Softness;
        float b = (float)(-((scale * reference.TissueMedian) + threshold) / Softness);
        var f = scratch[..vote.Length];
        TensorPrimitives.Multiply(smoothed, a, f);
        TensorPrimitives.Add(f, b, f);
        TensorPrimitives.Sigmoid(f, f);
        for (int i = 0; i < f.Length; i++)
        {
            if ((!walls.IsEmpty && walls[i] != 0) || (!valid.IsEmpty && valid[i] == 0))
            {
                f[i] = 0;
            }
        }

        TensorPrimitives.Max(vote, f, vote);
    }
}

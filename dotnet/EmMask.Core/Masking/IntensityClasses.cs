using EmMask.Core.Volumes;

namespace EmMask.Core.Masking;

/// <summary>
/// A section's two intensity classes, for the rules' references where neither its texture classes nor its pooled vote's
/// show resin. Pale, weakly textured tissue beside resin whose grain or streaks read as texture (Platynereis cells on
/// dark, streaky resin) separates at no texture level, and the section falls back to the unimodal threshold and is called
/// all tissue, although the two materials differ plainly in intensity. The split counts only where the resin side is
/// unmistakable: the smoothed intensities split clearly (Otsu's η ≥ <see cref="MinimumSeparability"/>); the side is one
/// region (<see cref="IsCoherent"/>); the other side's median lies
/// at least <see cref="ResinRule.MinimumSeparation"/> of the side's own two-sided robust spreads away (no re-centring on a
/// peak: on CREMI sections the pale cytoplasm's peak passed that, its whole class did not); and the resin rule's own
/// measure accepts it. Only the side with the lower median texture is tested: resin is the flat material, and where the
/// flatter side fails, taking the other (the tissue) for resin cost a corpus composite 71 % of two sections' tissue.
/// The caller applies it only to sections of at least <see cref="TissueEnvelope.KnownResinMinimumEdge"/> voxels per
/// edge (a 64² crop of pale cytoplasm between membranes splits the same way) whose texture did not separate (where it
/// did, its classes decide: on the napari sample phantom the split overrode them and took tissue).
/// </summary>
internal static class IntensityClasses
{
    /// <summary>Smallest Otsu separability of the sample's smoothed intensities for the split to count.</summary>
    public const double MinimumSeparability = 0.80;

    /// <summary>
    /// The stain and resin references of the intensity classes, or null where the split does not count (see the class).
    /// </summary>
    /// <param name="smoothed">The working level's smoothed image (a section).</param>
    /// <param name="valid">Its valid voxels, or null.</param>
    /// <param name="sample">The rules' sample of the level (its log ratios give the texture order and the resin's texture ceiling).</param>
    /// <param name="logThreshold">The texture threshold in use; the classes are written as log ratios either side of it.</param>
    /// <param name="block">The pooling block (voxels of the level), for the region test.</param>
    /// <param name="window">The resin window (<see cref="ClassicalMaskOptions.ResinWindow"/>), &gt; 0.</param>
    /// <param name="ct">Cancels the work.</param>
    public static (StainRule.Reference Stain, ResinRule.Reference Resin)? Measure(Volume<float> smoothed, Volume<byte>? valid, StainRule.Sample sample, double logThreshold, int block, double window, CancellationToken ct)
    {
        var split = OtsuThreshold.Compute(sample.Smoothed);
        if (!(split.Separability >= MinimumSeparability))
        {
            return null;
        }

        float t = (float)split.Threshold;
        float lt = (float)logThreshold;
        bool below = !(MedianRatio(sample, t, below: false) < MedianRatio(sample, t, below: true));
        var classes = Classes(smoothed, t, below, lt);
        if (!IsCoherent(TexturePyramid.LowerRegionShares(classes, valid, logThreshold, block, ct)))
        {
            return null;
        }

        // The same voxels as the rules' sample, labelled by side (drawing the class map again would pick exactly these).
        var classSample = new StainRule.Sample([.. sample.Smoothed.Select(v => (v < t) == below ? lt - 1 : lt + 1)], sample.Smoothed);
        return StainRule.Measure(classSample, lt) is { } stain && IsDistinct(classSample, lt, stain)
            && ResinRule.MeasureClass(classSample, lt, stain, window, sample.LogRatio) is { } resin
            ? (stain, resin)
            : null;
    }

    /// <summary>Smallest share of the section that the side's largest region must cover when it is under <see cref="TexturePyramid.CoherentRegionShare"/>.</summary>
    public const double MinimumRegionShare = 0.10;

    /// <summary>Smallest part of the side's own pooled share that its largest region must hold when it is under <see cref="TexturePyramid.CoherentRegionShare"/>.</summary>
    public const double MinimumRegionPart = 0.5;

    /// <summary>
    /// Whether the side is one region: its largest region covers <see cref="TexturePyramid.CoherentRegionShare"/> of the
    /// section, or, resin at a tissue edge covering less, at least <see cref="MinimumRegionShare"/> of the section and
    /// <see cref="MinimumRegionPart"/> of the side itself (docs/real-em-decisions.md, "The intensity split's resin side
    /// may be one region of under a quarter of the section").
    /// </summary>
    internal static bool IsCoherent((double Largest, double Total) shares) =>
        shares.Largest >= TexturePyramid.CoherentRegionShare
        || (shares.Largest >= MinimumRegionShare && shares.Largest >= MinimumRegionPart * shares.Total);

    /// <summary>log t − 1 where the voxel is on the candidate side of <paramref name="t"/> (below it when <paramref name="below"/>), log t + 1 elsewhere.</summary>
    private static Volume<float> Classes(Volume<float> smoothed, float t, bool below, float logThreshold)
    {
        var classes = smoothed.Like<float>();
        var s = smoothed.Span;
        var c = classes.Span;
        for (int i = 0; i < c.Length; i++)
        {
            c[i] = (s[i] < t) == below ? logThreshold - 1 : logThreshold + 1;
        }

        return classes;
    }

    /// <summary>Whether the tissue's median lies at least <see cref="ResinRule.MinimumSeparation"/> two-sided robust spreads of the resin class from the resin's median (the resin rule's first test, without its re-centring on a peak).</summary>
    internal static bool IsDistinct(StainRule.Sample classSample, float logThreshold, StainRule.Reference stain)
    {
        var resin = new List<float>();
        for (int i = 0; i < classSample.LogRatio.Length; i++)
        {
            if (classSample.LogRatio[i] < logThreshold)
            {
                resin.Add(classSample.Smoothed[i]);
            }
        }

        return resin.Count > 0 && ResinRule.IsDistinct(stain.TissueMedian, stain.ResinMedian, ResinRule.TwoSidedSpread(resin, stain.ResinMedian));
    }

    // The median log texture ratio of the sample's voxels on one side of t; +∞ when the side is empty.
    private static float MedianRatio(StainRule.Sample sample, float t, bool below)
    {
        var ratios = new List<float>();
        for (int i = 0; i < sample.Smoothed.Length; i++)
        {
            if ((sample.Smoothed[i] < t) == below)
            {
                ratios.Add(sample.LogRatio[i]);
            }
        }

        return ratios.Count == 0 ? float.PositiveInfinity : Select.Median([.. ratios]);
    }
}

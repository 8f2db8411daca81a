using EmMask.Core.Filters;
using EmMask.Core.Inference;
using EmMask.Core.Labeling;
using EmMask.Core.Volumes;

namespace EmMask.Core.Masking;

/// <summary>
/// The texture-to-noise ratio at pyramid levels 0..3 (the image averaged over 2^level blocks) and the choice of the
/// working level. Real EM spans 4–100 nm voxels and very different noise: fine FIB-SEM neuropil has little texture per
/// voxel but plenty at 2–4× coarser voxels, noisy low-resolution SBF-SEM only shows its cells at 4–8×. The working level
/// is the one at which resin and tissue separate most clearly: the log ratio's histogram has Otsu separability ≥
/// <see cref="Separability"/> with a weakly textured lower class (median ratio ≤ <see cref="NoiseLikeRatio"/>), or ≥
/// <see cref="NoiseSeparability"/> with a lower class of plain noise (median ≤ <see cref="NoiseRatio"/>); a section's
/// level also separates where its lower class is one large region (<see cref="CoherentRegionShare"/>) at η ≥
/// <see cref="CoherentSeparability"/>, or, if plain noise, at η ≥ <see cref="CoherentNoiseSeparability"/> when the next
/// coarser level's lower class is one large region too (textured resin, montage overviews); at level 0 exactly flat
/// pixels (<see cref="FlatRatio"/>) are left out of these statistics. Of those
/// levels the one whose histogram the threshold it would use (the valley, at least 2) splits most clearly (Otsu's η at that
/// threshold), the finer on a tie. Where no level separates them (all tissue, or
/// resin with artefacts), a section takes the finest level at which the tissue's texture stands clearly above noise
/// (the 90th percentile of the ratio reaches <see cref="TextureTarget"/>), else the highest; a 3D volume takes the
/// highest: 3D filters average more noise, so tissue's texture is "clear" already at level 0–1 while flat cytoplasm
/// still lies below the threshold there (isotropic FIB-SEM of 64 sections lost 3–19 % of its tissue), and at the
/// highest level only structure remains (resin's ratio stays ≈ 1 at every level). Coarser levels
/// see more but blur the boundary, which <see cref="BoundaryRefinement"/> then puts back on the image's own edges.
/// </summary>
/// <remarks>
/// At each level the ratio is r = √(λ_min / λ_noise), λ_min the structure tensor's smallest eigenvalue
/// (<see cref="StructureTensor"/>, with the isotropy penalty) and λ_noise the median λ_min of a simulated noise volume
/// with the same <see cref="NoiseModel"/>, put through the same averaging and filters. Pure noise thus gives r ≈ 1 at
/// every level, whatever its correlation.
/// </remarks>
internal static class TexturePyramid
{
    /// <summary>Highest level (2³ = 8× averaging).</summary>
    public const int MaximumLevel = 3;

    /// <summary>90th percentile of the ratio that makes a level the working level.</summary>
    public const double TextureTarget = 10.0;

    /// <summary>Otsu separability of the log ratio from which resin and tissue count as separated at a level.</summary>
    public const double Separability = 0.75;

    /// <summary>Largest median ratio of the lower class for it to count as noise (resin); above it both classes are tissue.</summary>
    public const double NoiseLikeRatio = 8.0;

    /// <summary>Separability that suffices when the lower class is plain noise (median ratio ≤ <see cref="NoiseRatio"/>).</summary>
    public const double NoiseSeparability = 0.68;

    /// <summary>Median ratio of a lower class that is plain noise.</summary>
    public const double NoiseRatio = 1.25;

    /// <summary>
    /// Where the valley lies below the smallest threshold (2), the largest share of the upper class that may lie below
    /// that threshold: more, and the threshold would cut through the upper class, so the split is within the tissue
    /// (inflated noise on a small image of tissue alone), not between resin and tissue, and the level does not separate.
    /// </summary>
    public const double UpperShareBelowThreshold = 1.0 / 3;

    /// <summary>
    /// True where the valley lies below the smallest threshold (<see cref="ClassicalMasker.UnimodalThreshold"/>) and more
    /// than <see cref="UpperShareBelowThreshold"/> of the upper class (sample values at or above the valley) lies below
    /// that threshold: the level's split is then not one between resin and tissue.
    /// </summary>
    /// <param name="sample">Log ratios (the level's threshold sample).</param>
    /// <param name="valley">The valley between the two classes (log units).</param>
    internal static bool ThresholdCutsUpperClass(ReadOnlySpan<float> sample, double valley)
    {
        double minimum = Math.Log(ClassicalMasker.UnimodalThreshold);
        if (!(valley < minimum))
        {
            return false;
        }

        int upper = 0, below = 0;
        foreach (float v in sample)
        {
            if (v >= valley)
            {
                upper++;
                below += v < minimum ? 1 : 0;
            }
        }

        return upper > 0 && below > UpperShareBelowThreshold * upper;
    }

    /// <summary>
    /// Separability that suffices for a section whose lower class is one coherent region (<see cref="CoherentRegionShare"/>):
    /// real textured resin beside tissue (vEMstitch tile 2_1_1: η 0.718–0.730) misses <see cref="Separability"/>, while
    /// the all-tissue sections measured stay under 0.70 (at most 0.690) and their lower class is scattered
    /// (docs/real-em-decisions.md, "A section also separates where its lower class is one coherent region").
    /// </summary>
    public const double CoherentSeparability = 0.70;

    /// <summary>
    /// Separability that suffices for that route when the lower class is plain noise (median ratio ≤ <see cref="NoiseRatio"/>)
    /// and stays one region at the next coarser level (its own valley): real orange-peel resin in downsampled montages
    /// (vEMstitch, 4× overviews) splits at η 0.55–0.68 at level 0 with a noise-like lower class covering 49–85 % of the
    /// image in one region, and 46–84 % at level 1. Pale tissue can look the same at level 0 (Platynereis cells: median
    /// 1.23, one region of 83 %), but at level 1 its lower class is scattered (≤ 6 %); η tells neither apart
    /// (docs/real-em-decisions.md, "A noise-like coherent lower class also separates").
    /// </summary>
    public const double CoherentNoiseSeparability = 0.50;

    /// <summary>
    /// Whether a section level's split is weak but its lower class plain noise: η ≥ <see cref="CoherentNoiseSeparability"/>
    /// and a median ratio ≤ <see cref="NoiseRatio"/>. Where that lower class is also one large region
    /// (<see cref="LargestLowerRegionShare"/> ≥ <see cref="CoherentRegionShare"/>), the level separates when the next
    /// coarser level's lower class is one large region too.
    /// </summary>
    /// <param name="separability">Otsu's η of the level's log ratio.</param>
    /// <param name="logLowMedian">The lower class's median log ratio.</param>
    internal static bool IsNoiseLikeWeakSplit(double separability, double logLowMedian) =>
        separability >= CoherentNoiseSeparability && logLowMedian <= Math.Log(NoiseRatio);

    /// <summary>
    /// Ratio below which a level-0 pixel is flat rather than resin or tissue: at level 0 pure noise gives about 1 and its
    /// lowest pixels stay far above this, so only exactly constant material reaches it (8-bit resin averaged 5–8× into one
    /// or two grey values, clipping smaller than padding). Such pixels are left out of level 0's threshold statistics
    /// (valley, η, the lower class's median, the texture percentile), as padding is: 1.6 % of them, all near 0, made the
    /// valley split them off from everything else. Coarser levels keep them (there real resin of a small image reaches
    /// such ratios; docs/real-em-decisions.md, "Amended: exactly flat pixels leave the statistics at level 0 only"), but
    /// a coarser level whose lower class's median lies under this ratio (its split parts flat pixels off) does not
    /// separate, and confirms a finer level's noise-like coherent split by its lower class measured without them
    /// (docs/real-em-decisions.md, "Amended: a flat split neither separates nor is re-measured into a separation").
    /// </summary>
    public const double FlatRatio = 0.05;

    /// <summary>The log-ratio sample without its flat pixels (<see cref="FlatRatio"/>); the sample itself when it holds nothing else.</summary>
    internal static float[] WithoutFlat(float[] sample)
    {
        float floor = (float)Math.Log(FlatRatio);
        int kept = 0;
        foreach (float v in sample)
        {
            kept += v >= floor ? 1 : 0;
        }

        if (kept == sample.Length || kept == 0)
        {
            return sample;
        }

        var result = new float[kept];
        int k = 0;
        foreach (float v in sample)
        {
            if (v >= floor)
            {
                result[k++] = v;
            }
        }

        return result;
    }

    /// <summary>Share of the level image's valid pixels that the lower class's largest region must cover for that route.</summary>
    public const double CoherentRegionShare = 0.25;

    /// <summary>Fewest level pixels per in-plane axis for that route (small images split by chance).</summary>
    public const int CoherentMinimumSide = 128;

    /// <summary>
    /// The share of the valid pixels of a section's level image covered by the largest 4-connected region of its lower
    /// class: valid pixels under <paramref name="valley"/>, pooled over a <paramref name="block"/>² box by majority (so
    /// that regions, not specks, count). 0 for a volume of more than one section or an empty image.
    /// </summary>
    internal static double LargestLowerRegionShare(Volume<float> logRatio, Volume<byte>? valid, double valley, int block, CancellationToken ct) =>
        LowerRegionShares(logRatio, valid, valley, block, ct).Largest;

    /// <summary>
    /// As <see cref="LargestLowerRegionShare"/>, with the share of the whole pooled lower class beside its largest region's
    /// (both of the section's valid pixels); (0, 0) for a volume of more than one section or an empty image.
    /// </summary>
    internal static (double Largest, double Total) LowerRegionShares(Volume<float> logRatio, Volume<byte>? valid, double valley, int block, CancellationToken ct)
    {
        if (logRatio.Shape.Z != 1)
        {
            return (0, 0);
        }

        var lower = logRatio.Like<float>();
        var r = logRatio.Span;
        var ok = valid is null ? default : valid.Span;
        var l = lower.Span;
        long validCount = 0;
        for (int i = 0; i < l.Length; i++)
        {
            bool isValid = ok.IsEmpty || ok[i] != 0;
            validCount += isValid ? 1 : 0;
            l[i] = isValid && r[i] < valley ? 1f : 0f;
        }

        if (validCount == 0)
        {
            return (0, 0);
        }

        UniformFilter.Apply(lower, lower, (1, block, block), ct);
        var majority = logRatio.Like<byte>();
        var m = majority.Span;
        long total = 0;
        for (int i = 0; i < m.Length; i++)
        {
            m[i] = l[i] > 0.5f ? (byte)1 : (byte)0;
            total += m[i] != 0 && (ok.IsEmpty || ok[i] != 0) ? 1 : 0;
        }

        var regions = ConnectedComponents.Label(majority, Connectivity.Face, ct);
        return regions.Count == 0 ? (0, 0) : (regions.Sizes.Skip(1).Max() / (double)validCount, total / (double)validCount);
    }

    /// <summary>Quantile of the ratio compared with <see cref="TextureTarget"/> (the tissue's upper range).</summary>
    public const double TextureQuantile = 0.9;

    /// <summary>Seed of the simulated noise (fixed: results are reproducible).</summary>
    public const ulong NoiseSeed = 0x5EED_E3A5_C0FFEE01;

    /// <summary>The highest level a volume can be measured at: in-plane axes keep ≥ 24 voxels, z (3D) ≥ 8.</summary>
    public static int HighestLevel(Shape3 shape, bool planar)
    {
        int level = 0;
        while (level < MaximumLevel)
        {
            int f = 1 << (level + 1);
            if (shape.Y / f < 24 || shape.X / f < 24 || (!planar && shape.Z / f < 8))
            {
                break;
            }

            level++;
        }

        return level;
    }

    /// <summary>The log ratio of one level's image and its smoothed image (for the stain rule).</summary>
    public static (Volume<float> LogRatio, Volume<float> Smoothed) Measure(Volume<float> image, ClassicalMaskOptions options, double logReference, CancellationToken ct)
    {
        var smoothed = image.Like<float>();
        using var pooledBand = PooledVolume.Like(image); // a temporary: pooled, so repeated runs take no fresh pages
        var band = pooledBand.Volume;
        PairedGaussian.DifferenceAndLow(image, smoothed, band, Sigma3.Isotropic(options.DogSigmaLow), Sigma3.Isotropic(options.DogSigmaHigh), ct);
        if (options.EdgeSigma != options.DogSigmaLow)
        {
            GaussianFilter.Apply(image, smoothed, Sigma3.Isotropic(options.EdgeSigma), cancellationToken: ct);
        }

        float dScale = (float)(1.0 / Math.Sqrt(FilterGains.DifferenceOfGaussiansGradient(options.DogSigmaLow, options.DogSigmaHigh)));
        float sScale = (float)(1.0 / Math.Sqrt(FilterGains.SmoothedGradient(options.EdgeSigma)));
        var logRatio = band.Like<float>();
        StructureTensor.SmallestEigenvalue(band, smoothed, dScale, sScale, options.TextureSigma, logRatio, ct, (float)(-0.5 * logReference), (float)options.Isotropy);
        return (logRatio, smoothed);
    }

    /// <summary>
    /// log λ_noise at <paramref name="level"/>: the median over a simulated noise volume (2D 512², 3D 64×128²). λ scales
    /// with σ², so the simulation runs once per correlation (rounded to 0.025 voxels), level and filter settings, at
    /// σ = 1, and is kept for the process; the result is that value + 2·log σ.
    /// </summary>
    public static double NoiseReference(NoiseModel noise, int level, bool planar, ClassicalMaskOptions options, CancellationToken ct)
    {
        double c = Math.Round(noise.Correlation / CorrelationStep) * CorrelationStep;
        var key = (c, level, planar, options.DogSigmaLow, options.DogSigmaHigh, options.EdgeSigma, options.TextureSigma, options.Isotropy);
        double unit = UnitReferences.GetOrAdd(key, _ => SimulatedReference(new NoiseModel(1.0, c), level, planar, options, ct));
        return unit + (2.0 * Math.Log(noise.WhiteSigma));
    }

    /// <summary>Step to which the correlation is rounded for the noise reference (the noise model's table step).</summary>
    public const double CorrelationStep = 0.025;

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(double, int, bool, double, double, double, double, double), double> UnitReferences = new();

    private static double SimulatedReference(NoiseModel noise, int level, bool planar, ClassicalMaskOptions options, CancellationToken ct)
    {
        var shape = planar ? new Shape3(1, 512, 512) : new Shape3(64, 128, 128);
        var field = Simulate(shape, noise, NoiseSeed);
        var image = level == 0 ? field : VolumeResampling.MeanDownsample(field, 1 << level);
        var (half, _) = Measure(image, options, 0, ct); // ½·log λ
        var s = image.Shape;
        int margin = 4;
        var values = new List<float>();
        for (int z = planar ? 0 : Math.Min(margin, s.Z / 4); z < (planar ? 1 : s.Z - Math.Min(margin, s.Z / 4)); z++)
        {
            for (int y = margin; y < s.Y - margin; y++)
            {
                values.AddRange(half.Row(z, y)[margin..(s.X - margin)]);
            }
        }

        return 2.0 * Select.Median([.. values]);
    }

    /// <summary>White Gaussian noise (SplitMix64 + Box–Muller) of σ = WhiteSigma, blurred in-plane by the correlation.</summary>
    public static Volume<float> Simulate(Shape3 shape, NoiseModel noise, ulong seed)
    {
        var v = new Volume<float>(shape);
        var s = v.Span;
        ulong state = seed;
        for (int i = 0; i < s.Length; i += 2)
        {
            double u1 = (Next(ref state) >> 11) * (1.0 / (1UL << 53));
            double u2 = (Next(ref state) >> 11) * (1.0 / (1UL << 53));
            double r = Math.Sqrt(-2.0 * Math.Log(1.0 - u1));
            s[i] = (float)(noise.WhiteSigma * r * Math.Cos(2 * Math.PI * u2));
            if (i + 1 < s.Length)
            {
                s[i + 1] = (float)(noise.WhiteSigma * r * Math.Sin(2 * Math.PI * u2));
            }
        }

        if (noise.Correlation >= 0.05)
        {
            GaussianFilter.Apply(v, v, new Sigma3(0, noise.Correlation, noise.Correlation));
        }

        return v;
    }

    private static ulong Next(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}

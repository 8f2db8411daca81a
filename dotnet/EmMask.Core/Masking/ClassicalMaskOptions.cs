namespace EmMask.Core.Masking;

/// <summary>
/// Parameters of the classical masker. All lengths are in voxels. Every parameter changes the result; the README's
/// "Parameters" table and <c>emmask mask --help</c> describe the same effects.
/// </summary>
public sealed record ClassicalMaskOptions
{
    /// <summary>The defaults, tuned on 8–32 nm downsampled FIB-SEM / SBEM of insect CNS.</summary>
    public static ClassicalMaskOptions Default { get; } = new();

    /// <summary>
    /// Edge length of the cubic neighbourhood (voxels, odd or even, >= 1) over which per-voxel tissue votes are pooled
    /// into the confidence map. The mask is where at least half the votes in the block say tissue, so larger blocks give
    /// smoother boundaries, bridge gaps narrower than about half a block and drop specks smaller than that; 1 disables pooling.
    /// </summary>
    public int BlockSize { get; init; } = 9;

    /// <summary>
    /// Gaussian sigma (voxels, > 0) of the window over which the structure tensor is integrated (its outer scale).
    /// Larger values need texture in every orientation over a wider window: fewer false detections in noise, but the mask
    /// boundary moves outwards by about sigma and small tissue pieces blur into their surroundings.
    /// </summary>
    public double TextureSigma { get; init; } = 2.0;

    /// <summary>
    /// Gaussian sigma (voxels, > 0) of the smoothing before the image gradient that enters the structure tensor (its inner
    /// scale). Small values respond to thin membranes; large values respond to coarse structure (big cells, nuclei) and
    /// ignore fine texture.
    /// </summary>
    public double EdgeSigma { get; init; } = 1.0;

    /// <summary>
    /// Connected tissue regions (6-connected) smaller than this many voxels are removed from the mask (0 or 1 keeps all).
    /// </summary>
    public long MinimumRegionSize { get; init; } = 1000;

    /// <summary>Inner sigma (voxels, > 0) of the Difference of Gaussians; the band-pass keeps structures between the two sigmas (membranes).</summary>
    public double DogSigmaLow { get; init; } = 1.0;

    /// <summary>Outer sigma (voxels, > <see cref="DogSigmaLow"/>) of the Difference of Gaussians.</summary>
    public double DogSigmaHigh { get; init; } = 2.0;

    /// <summary>
    /// Decision threshold on the texture-to-noise ratio (texture RMS over the estimated noise RMS; pure noise gives about 1),
    /// or null for automatic (the histogram valley between Otsu's two classes of the log ratio, with a fallback of 2 for volumes that are all tissue or all resin).
    /// Higher values keep only strongly textured tissue.
    /// </summary>
    public double? Threshold { get; init; }

    /// <summary>
    /// Smallest isotropy λ_min/λ_max of the structure tensor (0..1; 0 turns it off) for full texture credit. Below it the
    /// texture-to-noise ratio is scaled down by (isotropy/this)^1.5. Texture varies in every orientation (tissue: about
    /// 0.1–0.5); the halo that a strong, sharp edge casts through the texture window does not (about 0.01–0.05), and on
    /// clean or denoised data, where that halo stands far above the noise, it would otherwise widen the mask by up to the
    /// window's reach. Higher values remove more halo and also weakly textured tissue next to strong edges.
    /// </summary>
    public double Isotropy { get; init; } = 0.06;

    /// <summary>
    /// Electron-density threshold (>= 0; 0 turns it off), in robust standard deviations of the tissue's smoothed
    /// intensity (smoothed with edge_sigma). Voxels whose smoothed intensity lies further than this beyond the tissue's
    /// median, on the side away from resin (more stain than tissue, such as tracheal cuticle), are non-brain even where
    /// they are textured. Lower values remove more (also dark membranes and organelles, which the block pooling then
    /// restores only where they are small); higher values keep more.
    /// </summary>
    public double DenseThreshold { get; init; } = 2.0;

    /// <summary>
    /// Largest run (voxels, >= 0; 0 turns it off) of non-dense voxels between two dense ones, along at least two of the three
    /// axes, that counts as enclosed by dense structure and so non-brain: the lumen of a trachea. Raise it for wide tubes.
    /// </summary>
    public int DenseGap { get; init; } = 16;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first invalid parameter.</summary>
    public ClassicalMaskOptions Validate()
    {
        if (BlockSize < 1)
        {
            throw new ArgumentOutOfRangeException("block_size", BlockSize, $"block_size must be at least 1 voxel, got {BlockSize}.");
        }

        Positive(TextureSigma, "texture_sigma");
        Positive(EdgeSigma, "edge_sigma");
        if (MinimumRegionSize < 0)
        {
            throw new ArgumentOutOfRangeException("minimum_region_size", MinimumRegionSize, $"minimum_region_size must not be negative, got {MinimumRegionSize}.");
        }

        Positive(DogSigmaLow, "dog_sigma_low");
        Positive(DogSigmaHigh, "dog_sigma_high");
        if (DogSigmaHigh <= DogSigmaLow)
        {
            throw new ArgumentOutOfRangeException("dog_sigma_high", DogSigmaHigh, $"dog_sigma_high must be greater than dog_sigma_low ({DogSigmaLow}).");
        }

        if (!(Isotropy >= 0 && Isotropy < 1))
        {
            throw new ArgumentOutOfRangeException("isotropy", Isotropy, $"isotropy must be in [0, 1) (0 = off), got {Isotropy}.");
        }

        if (!(DenseThreshold >= 0) || !double.IsFinite(DenseThreshold))
        {
            throw new ArgumentOutOfRangeException("dense_threshold", DenseThreshold, $"dense_threshold must be a finite number >= 0 (0 = off), got {DenseThreshold}.");
        }

        if (DenseGap < 0)
        {
            throw new ArgumentOutOfRangeException("dense_gap", DenseGap, $"dense_gap must not be negative (0 = off), got {DenseGap}.");
        }

        if (Threshold is { } t)
        {
            Positive(t, "threshold");
        }

        return this;
    }

    /// <summary>The parameters as snake_case name/value pairs, as stored beside written masks.</summary>
    public IReadOnlyDictionary<string, string> ToParameters() => new Dictionary<string, string>
    {
        ["block_size"] = BlockSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["texture_sigma"] = TextureSigma.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        ["edge_sigma"] = EdgeSigma.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        ["minimum_region_size"] = MinimumRegionSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["dog_sigma_low"] = DogSigmaLow.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        ["dog_sigma_high"] = DogSigmaHigh.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        ["isotropy"] = Isotropy.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        ["dense_threshold"] = DenseThreshold.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        ["dense_gap"] = DenseGap.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["threshold"] = Threshold?.ToString("R", System.Globalization.CultureInfo.InvariantCulture) ?? "auto",
    };

    private static void Positive(double value, string name)
    {
        if (!(value > 0) || !double.IsFinite(value))
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be a finite number greater than 0, got {value}.");
        }
    }
}

using EmMask.Core.Options;

namespace EmMask.Core.Masking;

/// <summary>
/// Parameters of the classical masker. All lengths are in voxels of the working level (see <see cref="Level"/>). Every parameter changes the result; the README's
/// "Classical parameters" table and <c>emmask mask --help</c> describe the same effects.
/// </summary>
public sealed record ClassicalMaskOptions
{
    /// <summary>The defaults, tuned on 8–32 nm downsampled FIB-SEM / SBEM of insect CNS.</summary>
    public static ClassicalMaskOptions Default { get; } = new();

    /// <summary>
    /// How sections are treated: <see cref="MaskingMode.Auto"/> (default) masks section by section (2D) when the stack
    /// has fewer than <see cref="MaskingModes.MinimumSections3D"/> sections or its z spacing is at least twice the x–y
    /// spacing, else as a volume; <see cref="MaskingMode.TwoD"/> always per section; <see cref="MaskingMode.ThreeD"/>
    /// always as a volume (3D filters, 3D hole filling).
    /// </summary>
    [Option("2d: each section on its own; 3d: the stack as a volume; auto: per section for stacks under 64 sections or with z spacing >= 2x the x-y spacing.")]
    public MaskingMode Mode { get; init; } = MaskingMode.Auto;

    /// <summary>
    /// Pyramid level (0..3) at which texture is measured: the image averaged over 2^level voxels per axis (x–y only per
    /// section); null (default) = automatic: the level where resin and tissue separate most clearly, else the finest at
    /// which the tissue's texture stands clearly above noise (<see cref="TexturePyramid"/>). Higher levels find weak or noisy tissue and bridge flat cell interiors but see only
    /// structures larger than 2^level voxels; the boundary is refined at full resolution either way. Lengths of the other
    /// parameters are in voxels of this level.
    /// </summary>
    [Option("Pyramid level (2^level averaging) at which texture is measured, or auto: the level where resin and tissue separate most clearly, else the finest where the tissue's texture is clear.", Minimum = 0, Maximum = 3)]
    public int? Level { get; init; }

    /// <summary>
    /// Decision threshold on the texture-to-noise ratio (texture RMS over the estimated noise RMS; pure noise gives about 1),
    /// or null for automatic (the histogram valley between Otsu's two classes of the log ratio, with a fallback of 2 for volumes that are all tissue or all resin).
    /// Higher values keep only strongly textured tissue.
    /// </summary>
    [Option("Texture-to-noise ratio above which a voxel votes tissue (pure noise ~1 at every level), or auto: the valley between resin and tissue at the working level, at least 2; 2 where they do not separate.", Minimum = 0.01, Maximum = 1000, Step = 0.1)]
    public double? Threshold { get; init; }

    /// <summary>
    /// Edge length of the cubic neighbourhood (voxels, odd or even, >= 1) over which per-voxel tissue votes are pooled
    /// into the confidence map. The mask is where at least half the votes in the block say tissue, so larger blocks give
    /// smoother boundaries, bridge gaps narrower than about half a block and drop specks smaller than that; 1 disables pooling.
    /// </summary>
    [Option("Edge (voxels of the working level) of the box over which tissue votes are pooled into the confidence: larger = smoother boundary, bridges gaps narrower than about half a block, drops specks; 1 = no pooling.", Minimum = 1, Maximum = 1024, Step = 2)]
    public int BlockSize { get; init; } = 9;

    /// <summary>
    /// Gaussian sigma (voxels, > 0) of the window over which the structure tensor is integrated (its outer scale).
    /// Larger values need texture in every orientation over a wider window: fewer false detections in noise, but the mask
    /// boundary moves outwards by about sigma and small tissue pieces blur into their surroundings.
    /// </summary>
    [Option("Gaussian window (voxels of the working level) over which texture must vary in every orientation: larger = fewer false detections in noise, the boundary moves out by about sigma.", Minimum = 0.1, Maximum = 100, Step = 0.25)]
    public double TextureSigma { get; init; } = 2.0;

    /// <summary>
    /// Gaussian sigma (voxels, > 0) of the smoothing before the image gradient that enters the structure tensor (its inner
    /// scale). Small values respond to thin membranes; large values respond to coarse structure (big cells, nuclei) and
    /// ignore fine texture.
    /// </summary>
    [Option("Smoothing (voxels of the working level) before the gradient, and of the image the stain rule reads: small = thin membranes count, large = only broad structure.", Minimum = 0.1, Maximum = 100, Step = 0.25)]
    public double EdgeSigma { get; init; } = 1.0;

    /// <summary>Inner sigma (voxels, > 0) of the Difference of Gaussians; the band-pass keeps structures between the two sigmas (membranes).</summary>
    [Option("Inner sigma (voxels of the working level) of the Difference-of-Gaussians band whose gradient is the main texture evidence (membranes).", Label = "DoG sigma low", Minimum = 0.1, Maximum = 100, Step = 0.25)]
    public double DogSigmaLow { get; init; } = 1.0;

    /// <summary>Outer sigma (voxels, > <see cref="DogSigmaLow"/>) of the Difference of Gaussians.</summary>
    [Option("Outer sigma (voxels of the working level, > the inner one) of the Difference-of-Gaussians band.", Label = "DoG sigma high", Minimum = 0.1, Maximum = 200, Step = 0.5)]
    public double DogSigmaHigh { get; init; } = 2.0;

    /// <summary>
    /// Smallest isotropy λ_min/λ_max of the structure tensor (0..1; 0 turns it off) for full texture credit. Below it the
    /// texture-to-noise ratio is scaled down by (isotropy/this)^1.5. Texture varies in every orientation (tissue: about
    /// 0.1–0.5); the halo that a strong, sharp edge casts through the texture window does not (about 0.01–0.05), and on
    /// clean or denoised data, where that halo stands far above the noise, it would otherwise widen the mask by up to the
    /// window's reach. Higher values remove more halo and also weakly textured tissue next to strong edges.
    /// </summary>
    [Option("Smallest structure-tensor isotropy (lambda_min/lambda_max) for full texture credit; removes the halo that sharp edges cast on clean data; 0 = off.", Minimum = 0, Maximum = 0.95, Step = 0.01)]
    public double Isotropy { get; init; } = 0.06;

    /// <summary>
    /// Stain threshold (>= 0; 0 turns the rule off), in robust standard deviations of the tissue's smoothed intensity
    /// (smoothed with edge_sigma): voxels whose smoothed intensity lies further than this beyond the tissue's median, on
    /// the side away from resin (more stain than the tissue: a dense surface layer, basal lamina, myelin, cuticle), are
    /// tissue even where they have no texture. Resin carries no stain. Lower values keep more dark, flat material;
    /// higher values leave it to the texture measure.
    /// </summary>
    [Option("Flat material this many robust SDs more stained than the tissue (away from resin) is tissue: dense surface layers, laminae, myelin, cuticle; 0 = off.", Minimum = 0, Maximum = 100, Step = 0.25)]
    public double DenseThreshold { get; init; } = 1.5;

    /// <summary>
    /// Stain score (>= 0; 0 turns the join off), in robust standard deviations of the tissue's intensity (smoothed by
    /// σ 2) beyond its median on the side away from resin, above which regions outside a section's mask that touch it
    /// (at least 1000 voxels after an opening by 2) join it: dark, smooth tissue (muscle, a gut) whose texture the
    /// working level does not resolve (<see cref="StainedAdmission"/>). 2D mode, sections of at least 128² only. Lower
    /// values take in fainter material; higher values only strongly stained material.
    /// </summary>
    [Option("Stained regions (at least 1000 voxels) touching a section's tissue join it when more stained than the tissue's median by this many robust SDs (away from resin); 2D mode, sections of at least 128x128; 0 = off.", Minimum = 0, Maximum = 100, Step = 0.25)]
    public double StainJoin { get; init; } = StainedAdmission.StainScore;

    /// <summary>
    /// Widest trachea lumen (voxels of the full resolution, >= 0; 0 turns the rule off; at the working level it is
    /// ⌈gap / 2^level⌉): an untextured region whose stain is nearer the resin's than the tissue's and that stained
    /// material closes off along two axes within this many voxels is a trachea lumen, and the stained material within
    /// this distance of it is the trachea's wall; both are non-brain although the wall is stained
    /// (<see cref="TracheaRule"/>). Larger values also take out wider lumens, and more of the stained material around
    /// them, and widen the block halo by about twice the gap. Needs the stain rule (<see cref="DenseThreshold"/> &gt; 0).
    /// </summary>
    [Option("Widest trachea lumen (voxels): untextured, resin-like space closed off by stained material within this distance, and that wall, are non-brain; 0 = off.", Minimum = 0, Maximum = 256, Step = 1)]
    public int TracheaGap { get; init; } = 16;

    /// <summary>
    /// Half-width, in the resin's own robust SDs, of the intensity window around the resin's median within which flat
    /// material counts as resin even where coarse-scale shading or grain gives it texture (<see cref="ResinRule"/>; &gt;= 0,
    /// 0 turns the rule off). It acts only when the resin is a distinct flat material (its median at least 8 of its SDs
    /// from the tissue's) and spares voxels more textured than 90 % of those in the window. Larger values take out more
    /// shaded resin and more pale tissue of resin-like intensity. Needs the stain rule (<see cref="DenseThreshold"/> &gt; 0).
    /// </summary>
    [Option("Flat material within this many robust SDs of the resin's intensity (and nearer it than the tissue's) is resin although shading gives it texture; only where resin is a distinct flat material; 0 = off.", Minimum = 0, Maximum = 100, Step = 0.5)]
    public double ResinWindow { get; init; } = 3;

    /// <summary>
    /// Connected tissue regions (6-connected) smaller than this many voxels are removed from the mask (0 or 1 keeps all),
    /// but never a region of at least <see cref="RegionShareKept"/> of the section (2D mode) or volume masked: in a small
    /// image (a 64² section holds 4096 pixels) 1000 voxels are a large part of the tissue, not a speck
    /// (<see cref="MinimumRegionFor"/>).
    /// </summary>
    [Option("Tissue regions (6-connected; per section in 2D mode) smaller than this many voxels are removed, but none holding 1 % of the section or volume; 0 keeps all.", Label = "min region (voxels)", Cli = "min-region-size", Minimum = 0, Maximum = 2147483647, Step = 100)]
    public long MinimumRegionSize { get; init; } = 1000;

    /// <summary>The share of the image masked (a section in 2D mode, else the volume) from which a tissue region is always kept.</summary>
    public const double RegionShareKept = 0.01;

    /// <summary>The region size below which tissue is removed in an image (section or volume) of <paramref name="voxels"/> voxels: <see cref="MinimumRegionSize"/>, at most ⌈<see cref="RegionShareKept"/> · voxels⌉.</summary>
    public long MinimumRegionFor(long voxels) => Math.Min(MinimumRegionSize, (long)Math.Ceiling(RegionShareKept * voxels));

    /// <summary>
    /// Refine the boundary at full resolution (default true): a marker-controlled watershed on the image's gradient puts
    /// the boundary back on the tissue's surface inside the band where the working level's texture window blurs it
    /// (<see cref="BoundaryRefinement"/>). False keeps the pooled texture vote's boundary (smoother, up to 3·2^level voxels out).
    /// </summary>
    [Option("Put the boundary back on the image's own edge at full resolution.", Label = "refine boundary", Cli = "refine")]
    public bool RefineBoundary { get; init; } = true;

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

        if (!(StainJoin >= 0) || !double.IsFinite(StainJoin))
        {
            throw new ArgumentOutOfRangeException("stain_join", StainJoin, $"stain_join must be a finite number >= 0 (0 = off), got {StainJoin}.");
        }

        if (!(ResinWindow >= 0) || !double.IsFinite(ResinWindow))
        {
            throw new ArgumentOutOfRangeException("resin_window", ResinWindow, $"resin_window must be a finite number >= 0 (0 = off), got {ResinWindow}.");
        }

        if (TracheaGap < 0)
        {
            throw new ArgumentOutOfRangeException("trachea_gap", TracheaGap, $"trachea_gap must not be negative (0 = off), got {TracheaGap}.");
        }

        if (!Enum.IsDefined(Mode))
        {
            throw new ArgumentOutOfRangeException("mode", Mode, $"mode must be auto, 2d or 3d, got {Mode}.");
        }

        if (Level is { } level && (level < 0 || level > TexturePyramid.MaximumLevel))
        {
            throw new ArgumentOutOfRangeException("level", level, $"level must be between 0 and {TexturePyramid.MaximumLevel} (or auto), got {level}.");
        }

        if (Threshold is { } t)
        {
            Positive(t, "threshold");
        }

        return this;
    }

    /// <summary>Reads options from their JSON form (<see cref="OptionsJson"/>: snake_case keys, unknown keys refused) and validates them.</summary>
    /// <exception cref="ArgumentException">Malformed JSON, unknown key or wrong type.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A value out of range (named).</exception>
    public static ClassicalMaskOptions FromJson(string json) => OptionsJson.Read<ClassicalMaskOptions>(json).Validate();

    /// <summary>The options' JSON form (every key; automatic values as "auto").</summary>
    public string ToJson() => OptionsJson.Write(this).ToJsonString();

    /// <summary>The parameters as snake_case name/value pairs (the JSON form's values as text), as stored beside written masks.</summary>
    public IReadOnlyDictionary<string, string> ToParameters() =>
        OptionsJson.Write(this).ToDictionary(p => p.Key, p => p.Value is System.Text.Json.Nodes.JsonValue v && v.TryGetValue(out string? text) ? text : p.Value!.ToJsonString());

    private static void Positive(double value, string name)
    {
        if (!(value > 0) || !double.IsFinite(value))
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be a finite number greater than 0, got {value}.");
        }
    }
}

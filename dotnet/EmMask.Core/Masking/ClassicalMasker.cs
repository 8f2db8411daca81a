using System.Numerics.Tensors;
using EmMask.Core.Blockwise;
using EmMask.Core.Filters;
using EmMask.Core.Inference;
using EmMask.Core.Labeling;
using EmMask.Core.Morphology;
using EmMask.Core.Progress;
using EmMask.Core.Volumes;

namespace EmMask.Core.Masking;

/// <summary>
/// The classical brain/non-brain masker: texture measured against the volume's own noise, at the pyramid level where the
/// tissue's texture is clear, with exact-constant padding and stained flat material handled apart, and the boundary put
/// back on the image's edges at full resolution.
/// </summary>
/// <remarks>
/// Steps (docs/classical-masker.md says the same, the README in short):
/// <list type="number">
/// <item>Robust normalisation (1st/99th percentile → 0/1). Exact-constant padding (<see cref="PaddingDetector"/>) and NaN
/// voxels are non-brain and leave every statistic below.</item>
/// <item>Mode (<see cref="MaskingModes.Resolve"/>): thin or anisotropic stacks are masked section by section.</item>
/// <item>Noise: the noise level function is flattened (<see cref="VarianceStabilizer"/>), then the noise's level and
/// correlation are estimated (<see cref="NoiseModel"/>).</item>
/// <item>Texture-to-noise ratio r = √(λ_min/λ_noise) of the structure tensor of a Difference of Gaussians and a smoothed
/// image, at pyramid levels 0..3; the working level is the finest where the tissue's texture is clear
/// (<see cref="TexturePyramid"/>).</item>
/// <item>Threshold t on log r: given, or the histogram valley between Otsu's classes when the histogram is clearly bimodal
/// (<see cref="TexturePyramid.Separability"/>), never below 2 (twice the noise); 2 otherwise. Of the levels that
/// separate, the one whose histogram that threshold splits most clearly is the working level. In 2D mode a section that does not separate takes its stack's
/// level and threshold where the stack agrees and the section holds resin-like material (<see cref="SectionConsensus"/>).</item>
/// <item>Soft vote v = sigmoid((log r − log t)/0.25), tracheae out (<see cref="TracheaRule"/>), raised for stained flat
/// material (<see cref="StainRule"/>), lowered at the resin's own intensity (<see cref="ResinRule"/>).</item>
/// <item>Confidence: the vote averaged over a block (valid voxels only; lowered again by the resin rule), brought back to full resolution. Mask =
/// confidence ≥ 0.5, holes filled.</item>
/// <item>Boundary refinement at full resolution (<see cref="BoundaryRefinement"/>), holes filled, small regions removed.</item>
/// </list>
/// A constant volume has no texture: the result is an all-0 mask with a warning. NaN/Inf voxels are set to 0 in the mask.
/// </remarks>
public static partial class ClassicalMasker
{
    /// <summary>Width of the soft vote in log units of the texture-to-noise ratio.</summary>
    public const float Softness = 0.25f;

    /// <summary>The threshold used when the ratio's histogram is not clearly bimodal, and the floor of the automatic one.</summary>
    public const double UnimodalThreshold = 2.0;

    /// <summary>Largest number of voxels the automatic threshold's histogram is built from.</summary>
    public const int ThresholdSampleLimit = 1 << 20;

    /// <summary>
    /// The stride of a regular sample of at most about <paramref name="limit"/> of <paramref name="length"/> values:
    /// ⌈length / limit⌉, raised until coprime with <paramref name="rowLength"/> (the x axis), so that the sample visits
    /// every x instead of a few columns (a stride equal to the row length would sample a single yz plane).
    /// </summary>
    internal static int SampleStride(long length, int limit, int rowLength)
    {
        int step = (int)Math.Max(1, (length + limit - 1) / limit);
        while (step > 1 && System.Numerics.BigInteger.GreatestCommonDivisor(step, rowLength) != 1)
        {
            step++;
        }

        return step;
    }

    /// <summary>A regular sample (<see cref="SampleStride"/>, limit 2²⁰) of the values where <paramref name="valid"/> is set.</summary>
    internal static float[] ThresholdSample(ReadOnlySpan<float> values, ReadOnlySpan<byte> valid, int rowLength)
    {
        int step = SampleStride(values.Length, ThresholdSampleLimit, rowLength);
        var sample = new List<float>((values.Length / step) + 1);
        for (int i = 0; i < values.Length; i += step)
        {
            if (valid.IsEmpty || valid[i] != 0)
            {
                sample.Add(values[i]);
            }
        }

        return [.. sample];
    }

    /// <summary>Voxels above which an in-memory run goes block by block inside (the same mask, far less memory).</summary>
    public const long BlockLimit = 64L << 20;

    /// <summary>Working memory of the block-by-block in-memory run (beyond the mask and confidence).</summary>
    public const long BlockBudget = 1L << 30;

    /// <summary>Computes the mask and confidence of a uint8, uint16 or float32 volume.</summary>
    /// <exception cref="InvalidVolumeException">Empty axis or no finite value.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An invalid option (named).</exception>
    /// <param name="input">uint8, uint16 or float32 volume.</param>
    /// <param name="options">The masker's options (defaults when null).</param>
    /// <param name="progress">Stage and fraction.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <param name="confidence">False when only the mask is wanted: a volume over <see cref="BlockLimit"/> then needs no
    /// float confidence volume (4 bytes per voxel), and the result's confidence is an empty volume.</param>
    public static MaskResult Run(
        IVolume input,
        ClassicalMaskOptions? options = null,
        IProgress<ProgressReport>? progress = null,
        CancellationToken cancellationToken = default,
        bool confidence = true)
    {
        ArgumentNullException.ThrowIfNull(input);
        options = (options ?? ClassicalMaskOptions.Default).Validate();
        if (input.Shape.Length <= Blockwise.VolumeSample.Limit || input.Shape.IsEmpty)
        {
            return RunCore(input, options, null, null, progress, cancellationToken);
        }

        // A large volume: the global values are measured on the same sample a block-wise run measures them on, so the
        // two agree voxel for voxel (and the measuring is cheaper); the global steps then run on the whole pre-mask.
        progress?.Report(new("measure on a sample", 0.0));
        var plan = Plan(ReadSample(new Blockwise.VolumeBlockSource(input), options, cancellationToken), input.Shape, input.VoxelSize, options, cancellationToken);
        if (input.Shape.Length > BlockLimit)
        {
            return Blockwise.ClassicalBlockwise.RunInMemory(input, plan, options, BlockBudget, progress, cancellationToken, confidence);
        }

        var result = RunCore(input, options, plan, BlockPlacement.Whole(input.Shape), progress, cancellationToken);
        if (plan.Volume is { } volume)
        {
            FinishGlobally(result.Mask, result.Confidence, options, volume.Level, volume.KnowsSectionResin, cancellationToken);
        }

        return result;
    }

    /// <summary>
    /// The global steps on a whole 3D pre-mask (1, 0, <see cref="InvalidCode"/>), as <see cref="Blockwise.BlockComponents"/>
    /// runs them over blocks: holes filled, small regions removed, padding non-brain, confidence made to agree.
    /// </summary>
    private static void FinishGlobally(Volume<byte> mask, Volume<float> confidence, ClassicalMaskOptions options, int level, bool unmarked, CancellationToken ct)
    {
        var m = mask.Span;
        var valid = mask.Like<byte>();
        var ok = valid.Span;
        bool section = mask.Shape.Z == 1;
        var resin = section ? mask.Like<byte>() : null;
        var r = resin is null ? default : resin.Span;
        var like = section && unmarked ? mask.Like<byte>() : null;
        var k = like is null ? default : like.Span;
        for (int i = 0; i < m.Length; i++)
        {
            ok[i] = m[i] == InvalidCode ? (byte)0 : (byte)1;
            if (section)
            {
                r[i] = HasResinMarker(m[i]) ? (byte)1 : (byte)0;
            }

            if (!k.IsEmpty)
            {
                k[i] = IsResinLikeOrPadding(m[i]) ? (byte)1 : (byte)0;
            }

            m[i] = m[i] == 1 ? (byte)1 : (byte)0;
        }

        // A volume of one section is filled as a section (a 3D fill would find every voxel on a z face), its resin holes
        // left open; where its resin is known, border regions without material at the resin's intensity are filled too.
        long resinCells = ResinHoleCells << (2 * level);
        MaskMorphology.FillHoles(mask, perSlice: section, resin, resinCells, ct);
        if (like is not null)
        {
            MaskMorphology.FillUnmarked(mask, perSlice: true, like, resinCells, ct);
        }
        long minimumRegion = options.MinimumRegionFor(mask.Shape.Length);
        if (minimumRegion > 1)
        {
            MaskMorphology.RemoveSmallRegions(mask, minimumRegion, Connectivity.Face, ct);
        }

        AgreeWithMask(m, confidence.Span, ok);
    }

    // Padding is never tissue, and the confidence agrees with the mask (mask = confidence ≥ 0.5).
    internal static void AgreeWithMask(Span<byte> m, Span<float> c, ReadOnlySpan<byte> ok)
    {
        for (int i = 0; i < m.Length; i++)
        {
            if (!ok.IsEmpty && ok[i] == 0)
            {
                m[i] = 0;
                c[i] = 0;
            }
            else if (m[i] != 0 && c[i] < 0.5f)
            {
                c[i] = 0.5f;
            }
            else if (m[i] == 0 && c[i] >= 0.5f)
            {
                c[i] = 0.4999f;
            }
        }
    }

    /// <summary>
    /// The regions of a volume of <paramref name="shape"/> its plan is measured on (<see cref="Blockwise.VolumeSample"/>):
    /// whole sections where the volume is masked section by section, so that the sections' agreement is measured on
    /// sections as they are masked.
    /// </summary>
    public static IReadOnlyList<((int Z, int Y, int X) Offset, Shape3 Size)> SampleBoxes(Shape3 shape, VoxelSize voxelSize, ClassicalMaskOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return Blockwise.VolumeSample.Boxes(shape, SampledBySections(shape, voxelSize, options));
    }

    /// <summary>Reads the sample of <see cref="SampleBoxes"/>.</summary>
    public static IVolume ReadSample(Blockwise.IBlockSource source, ClassicalMaskOptions options, CancellationToken ct = default, long limit = Blockwise.VolumeSample.Limit)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(options);
        return Blockwise.VolumeSample.Read(source, ct, SampledBySections(source.Shape, source.VoxelSize, options), limit);
    }

    // A stack masked section by section is sampled by whole sections.
    private static bool SampledBySections(Shape3 shape, VoxelSize voxelSize, ClassicalMaskOptions options) =>
        MaskingModes.Resolve(options.Mode, shape, voxelSize) == MaskingMode.TwoD;

    /// <summary>
    /// Measures, on <paramref name="sample"/> (the whole volume, or <see cref="Blockwise.VolumeSample"/>'s sample of it),
    /// everything that must be the same in every block of a volume masked block-wise: the intensity map, the mode and,
    /// in 3D, the padding fill value, the stabilising map, the noise model, the working level, the threshold and the
    /// stain reference. On the whole volume these are exactly the values <see cref="Run"/> uses.
    /// </summary>
    public static ClassicalPlan Plan(IVolume sample, Shape3 volumeShape, VoxelSize voxelSize, ClassicalMaskOptions? options = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(sample);
        options = (options ?? ClassicalMaskOptions.Default).Validate();
        var normal = IntensityNormalizer.Normalize(sample, ct);
        var mode = MaskingModes.Resolve(options.Mode, volumeShape, voxelSize);
        if (normal.IsConstant)
        {
            return new ClassicalPlan(normal.Map, mode, null);
        }

        var warnings = new List<string>();
        var valid = InvalidVoxels(sample, normal.Normalized, normal.NonFinite, warnings, ct);
        if (mode == MaskingMode.TwoD)
        {
            return new ClassicalPlan(normal.Map, mode, null, MeasureConsensus(normal.Normalized, valid, options, ct));
        }

        if (valid is not null && valid.Span.IndexOfAnyExcept((byte)0) < 0)
        {
            return new ClassicalPlan(normal.Map, mode, null);
        }

        var n = normal.Normalized;
        var (plan, chosen, _) = MeasureVolume(n, valid, options, null, ct);
        if (volumeShape.Z == 1 && n.Shape.Z == 1)
        {
            // A volume of one section, masked in tiles: its resin as a whole section would know it (KnownResin).
            var (_, weight) = VotePool(chosen, plan, options, planar: true, null, ct);
            plan = plan with { SectionResin = KnownResin.Measure(n, valid, ResinMarkers(weight, n, chosen.Level, (0, 0, 0)), chosen.Level, ct) };
        }

        return new ClassicalPlan(normal.Map, mode, plan);
    }

    /// <summary>
    /// Masks one block (read with its halo) of a volume under a fixed <paramref name="plan"/>. In 2D mode the block holds
    /// whole sections and the result is final. In 3D the result is a pre-mask: 1 tissue, 0 non-brain, <see cref="InvalidCode"/>
    /// padding; the steps that are global by nature (hole filling, small-region removal) are left to
    /// <see cref="Blockwise.BlockComponents"/>, which runs them over the whole volume.
    /// </summary>
    /// <param name="block">The block's read region.</param>
    /// <param name="plan">The volume's plan.</param>
    /// <param name="placement">Where the block lies: the read region's offset, the volume's shape and the core's offset and size in the read region.</param>
    /// <param name="options">The masker's options (those the plan was measured with).</param>
    /// <param name="ct">Cancels the work.</param>
    public static MaskResult RunBlock(IVolume block, ClassicalPlan plan, BlockPlacement placement, ClassicalMaskOptions? options = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(block);
        ArgumentNullException.ThrowIfNull(plan);
        options = (options ?? ClassicalMaskOptions.Default).Validate();
        return RunCore(block, options, plan, placement, null, ct);
    }

    /// <summary>The pre-mask value of padding and NaN voxels in a 3D block (<see cref="RunBlock"/>): non-brain, and background for hole filling.</summary>
    public const byte InvalidCode = 2;

    /// <summary>
    /// The pre-mask value of a non-brain voxel with a resin marker in a block of a volume of one section: a hole holding
    /// <see cref="ResinHoleCells"/> working-level cells of them stays open, as a section's does in memory.
    /// </summary>
    public const byte ResinCode = 3;

    /// <summary>
    /// The pre-mask value of a non-brain voxel at the resin's intensity in a tile of a section whose resin is known
    /// (<see cref="KnownResin"/>): a border region holding fewer than <see cref="ResinHoleCells"/> working-level cells of
    /// them (or of padding) is pale tissue, filled as a whole section fills it (<see cref="Blockwise.HoleRule.Unmarked"/>).
    /// </summary>
    public const byte ResinLikeCode = 4;

    /// <summary>The pre-mask value of a non-brain voxel that is both <see cref="ResinCode"/> and <see cref="ResinLikeCode"/>.</summary>
    public const byte ResinLikeMarkerCode = 5;

    /// <summary>Whether a pre-mask value holds a resin marker (<see cref="ResinCode"/>, <see cref="ResinLikeMarkerCode"/>).</summary>
    public static bool HasResinMarker(byte code) => code is ResinCode or ResinLikeMarkerCode;

    /// <summary>Whether a pre-mask value is material at the resin's intensity or padding (<see cref="ResinLikeCode"/>,
    /// <see cref="ResinLikeMarkerCode"/>, <see cref="InvalidCode"/>): what keeps a border region open.</summary>
    public static bool IsResinLikeOrPadding(byte code) => code is ResinLikeCode or ResinLikeMarkerCode or InvalidCode;

    /// <summary>
    /// The context (voxels, per side and axis) a block needs so that its core sees what it would see in the whole volume:
    /// the reach of the DoG, gradient and texture windows, of the trachea rule and of the vote's pooling at the working level, plus the
    /// boundary refinement's band, rounded up to whole cells of the working level. 0 in 2D mode (blocks are whole sections).
    /// </summary>
    /// <param name="plan">The volume's plan.</param>
    /// <param name="options">The options the plan was measured with.</param>
    /// <param name="singleScale">The halo for <see cref="RunBlock"/> even when the plan's level would allow two scales
    /// (workers that see only their own block, e.g. Dask's map_overlap).</param>
    public static int Halo(ClassicalPlan plan, ClassicalMaskOptions? options = null, bool singleScale = false)
    {
        ArgumentNullException.ThrowIfNull(plan);
        options ??= ClassicalMaskOptions.Default;
        if (plan.Volume is not { } volume)
        {
            return 0;
        }

        int factor = 1 << volume.Level;
        if (IsTwoScale(plan) && !singleScale)
        {
            int context = Refines(plan, options) ? BoundaryRefinement.Reach(volume.Level) : 0;
            return (context + factor - 1) / factor * factor;
        }

        double sigma = Math.Max(options.DogSigmaHigh, options.DogSigmaLow) + options.EdgeSigma + options.TextureSigma;
        int tracheae = volume.Stain is not null && options.TracheaGap > 0 ? TracheaRule.Reach(TracheaRule.GapAtLevel(options.TracheaGap, volume.Level)) : 0;
        int resin = volume.Resin is not null ? ResinRule.Reach : 0;
        double levelReach = (3 * sigma) + (options.BlockSize / 2.0) + 2 + tracheae + resin;
        int refinement = Refines(plan, options) ? BoundaryRefinement.Reach(volume.Level) : 0;
        int halo = (int)Math.Ceiling((levelReach * factor) + refinement);
        return (halo + factor - 1) / factor * factor;
    }

    /// <summary>
    /// The alignment (voxels) block origins and edges need in 3D: one cell of the working level, so the pyramids agree,
    /// and one tile of the boundary refinement when it runs, so every tile lies in one block.
    /// </summary>
    public static int Alignment(ClassicalPlan plan, ClassicalMaskOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(plan);
        options ??= ClassicalMaskOptions.Default;
        return plan.Volume is not { } v ? 1 : Refines(plan, options) ? BoundaryRefinement.TileSize(v.Level) : 1 << v.Level;
    }

    private static bool Refines(ClassicalPlan plan, ClassicalMaskOptions options) => options.RefineBoundary && plan.Volume is not null;

    private static MaskResult RunCore(IVolume input, ClassicalMaskOptions options, ClassicalPlan? plan, BlockPlacement? placement, IProgress<ProgressReport>? progress, CancellationToken ct)
    {
        var warnings = new List<string>();
        var notes = new List<string>();
        progress?.Report(new("normalise", 0.0));
        var normal = plan is null ? IntensityNormalizer.Normalize(input, ct) : IntensityNormalizer.Normalize(input, plan.Intensity, ct);
        var n = normal.Normalized;
        var shape = input.Shape;
        if (normal.IsConstant)
        {
            warnings.Add($"The volume is constant (value {normal.Low:g}); it has no texture, so the mask is all 0 (non-brain).");
            progress?.Report(new("done", 1.0));
            n.Span.Clear();
            return new MaskResult(n.Like<byte>(), n, options.Threshold ?? UnimodalThreshold, warnings, notes);
        }

        var valid = InvalidVoxels(input, n, normal.NonFinite, warnings, ct);
        var mask = n.Like<byte>();
        var confidence = n.Like<float>();
        mask.VoxelSize = confidence.VoxelSize = input.VoxelSize;
        var mode = plan?.Mode ?? MaskingModes.Resolve(options.Mode, shape, input.VoxelSize);
        bool preMask = plan is not null && mode != MaskingMode.TwoD;
        if (valid is not null && valid.Span.IndexOfAnyExcept((byte)0) < 0)
        {
            warnings.Add("Every voxel is padding or NaN: the mask is all 0 (non-brain).");
            progress?.Report(new("done", 1.0));
            if (preMask)
            {
                mask.Span.Fill(InvalidCode);
            }

            return new MaskResult(mask, confidence, options.Threshold ?? UnimodalThreshold, warnings, notes);
        }

        var outcomes = new List<VolumeOutcome>();
        bool[]? resinKnown = null;
        // A block of one section of a stack (plan given) still takes the stack's agreement.
        if (mode == MaskingMode.TwoD && (shape.Z > 1 || plan?.Consensus is not null))
        {
            resinKnown = RunSections(n, valid, options, plan, mask, confidence, outcomes, progress, ct);
        }
        else if (plan?.Volume is { } fixedPlan)
        {
            outcomes.Add(ApplyPlan(n, valid, options, fixedPlan, placement ?? BlockPlacement.Whole(shape), mask, confidence, ct));
        }
        else
        {
            var (outcome, known) = RunVolume(n, valid, options, mask, confidence, progress, ct);
            outcomes.Add(outcome);
            resinKnown = shape.Z == 1 ? [known] : null;
        }

        double threshold = outcomes.Count == 0 ? options.Threshold ?? UnimodalThreshold : Median(outcomes.Select(o => o.Threshold));
        notes.Add(Describe(mode, shape, outcomes));
        if (DescribeUnseparated(outcomes) is { } unseparated)
        {
            notes.Add(unseparated);
        }

        if (mode == MaskingMode.TwoD && shape.Z > 1)
        {
            notes.Add($"mode 2d: {shape.Z} sections masked one by one (set mode 3d to mask as a volume)");
        }

        mask.VoxelSize = input.VoxelSize;
        confidence.VoxelSize = input.VoxelSize;
        progress?.Report(new("done", 1.0));
        var unsplit = mode == MaskingMode.TwoD
            ? outcomes.Where(o => !o.Separated && !o.FromStack).Select(o => o.Section ?? 0).Order().ToArray()
            : null;
        return new MaskResult(mask, confidence, threshold, warnings, notes) { ResinKnown = resinKnown, Valid = valid, UnsplitSections = unsplit };
    }

    /// <summary>What one volume (or section) run decided; <paramref name="Section"/> is the section's index in 2D mode, else null.</summary>
    internal readonly record struct VolumeOutcome(double Threshold, int Level, NoiseModel Noise, bool Stabilised, bool Resin = false, bool FromStack = false, bool Separated = true, int? Section = null);

    /// <summary>Sections named by index in a note before it only counts the rest.</summary>
    private const int NamedSections = 12;

    /// <summary>Masks one volume (3D) or one section (Z = 1) in place of <paramref name="mask"/> and <paramref name="confidence"/>; <paramref name="n"/> is consumed.</summary>
    private static (VolumeOutcome Outcome, bool ResinKnown) RunVolume(Volume<float> n, Volume<byte>? valid, ClassicalMaskOptions options, Volume<byte> mask, Volume<float> confidence, IProgress<ProgressReport>? progress, CancellationToken ct)
    {
        var (plan, chosen, _) = MeasureVolume(n, valid, options, progress, ct);
        bool known = Finish(n, valid, options, plan, chosen, BlockPlacement.Whole(n.Shape), mask, confidence, final: true, progress, ct);
        return (plan.Outcome, known);
    }

    /// <summary>A block of a 3D volume under a fixed plan: the pre-mask (invalid voxels = <see cref="InvalidCode"/>).</summary>
    private static VolumeOutcome ApplyPlan(Volume<float> n, Volume<byte>? valid, ClassicalMaskOptions options, VolumePlan plan, BlockPlacement placement, Volume<byte> mask, Volume<float> confidence, CancellationToken ct)
    {
        Prepare(n, valid, plan, ct);
        // A volume of one section is measured as a section, as in memory (its blocks are tiles of that section).
        var maps = LevelMaps.Compute(n, valid, plan.Level, plan.Noise, planar: placement.Volume.Z == 1, options, ct);
        Finish(n, valid, options, plan, maps, placement, mask, confidence, final: false, null, ct);
        MarkInvalid(mask, valid);
        return plan.Outcome;
    }

    // Padding takes the plan's fill value and the noise is stabilised with the plan's map.
    private static void Prepare(Volume<float> n, Volume<byte>? valid, VolumePlan plan, CancellationToken ct)
    {
        if (valid is not null)
        {
            FillInvalid(n, valid, plan.FillValue);
        }

        plan.Stabilizer?.Apply(n, ct);
    }

    // A tile of a section whose resin is known (KnownResin): the working level at the resin's intensity, for the global
    // filling of unmarked border regions (HoleRule.Unmarked); else null.
    private static Volume<float>? ResinLikeAt(LevelMaps maps, VolumePlan plan) =>
        plan.KnowsSectionResin && plan.Resin is { } reference ? ResinRule.AtResinIntensity(maps.Smoothed, reference, maps.Valid) : null;

    // A tile of a section whose resin is known: its non-brain voxels at the resin's intensity are coded ResinLikeCode
    // (ResinLikeMarkerCode where they hold a resin marker too) for the global filling of unmarked border regions.
    private static void CodeResinLike(Volume<byte> mask, Volume<byte> like)
    {
        var m = mask.Span;
        var l = like.Span;
        for (int i = 0; i < m.Length; i++)
        {
            if (l[i] != 0 && m[i] is 0 or ResinCode)
            {
                m[i] = m[i] == ResinCode ? ResinLikeMarkerCode : ResinLikeCode;
            }
        }
    }

    // A block of a volume of one section: its non-brain voxels with resin markers are coded ResinCode for the global hole filling.
    private static void CodeResin(Volume<byte> mask, Volume<byte>? resin)
    {
        if (resin is null)
        {
            return;
        }

        var m = mask.Span;
        var r = resin.Span;
        for (int i = 0; i < m.Length; i++)
        {
            if (m[i] == 0 && r[i] != 0)
            {
                m[i] = ResinCode;
            }
        }
    }

    private static void MarkInvalid(Volume<byte> mask, Volume<byte>? valid)
    {
        if (valid is null)
        {
            return;
        }

        var m = mask.Span;
        var ok = valid.Span;
        for (int i = 0; i < m.Length; i++)
        {
            if (ok[i] == 0)
            {
                m[i] = InvalidCode;
            }
        }
    }

    /// <summary>
    /// True when block-wise work on this plan goes in two scales (working level ≥ 2): the texture context at a coarse
    /// level is hundreds of voxels at full resolution, so the working-level image of the whole volume is assembled first
    /// (<see cref="CoarseBlock"/>; a 4× level holds 1/64 of the voxels), its pooled vote computed in memory
    /// (<see cref="CoarseConfidence"/>), and the full-resolution blocks then need only the refinement's context
    /// (<see cref="RunFineBlock"/>).
    /// </summary>
    public static bool IsTwoScale(ClassicalPlan plan) => plan?.Volume is { Level: >= 2 };

    /// <summary>A block's image at the working level, and the share of valid voxels per cell (null when all are valid).</summary>
    public static (Volume<float> Image, Volume<float>? ValidFraction) CoarseBlock(IVolume block, ClassicalPlan plan, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(block);
        var volume = plan?.Volume ?? throw new ArgumentException("The plan has no 3D part.", nameof(plan));
        var normal = IntensityNormalizer.Normalize(block, plan.Intensity, ct);
        var n = normal.Normalized;
        var valid = InvalidVoxels(block, n, normal.NonFinite, [], ct);
        Prepare(n, valid, volume, ct);
        int factor = 1 << volume.Level;
        return (VolumeResampling.MeanDownsample(n, factor), valid is null ? null : ValidFraction(valid, factor));
    }

    /// <summary>The pooled vote of the whole volume at the working level, and the resin rule's weight there, from its assembled coarse image.</summary>
    public static CoarseVote CoarseConfidence(Volume<float> image, Volume<float>? validFraction, ClassicalPlan plan, ClassicalMaskOptions? options = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(image);
        var volume = plan?.Volume ?? throw new ArgumentException("The plan has no 3D part.", nameof(plan));
        options = (options ?? ClassicalMaskOptions.Default).Validate();
        var ok = validFraction is null ? null : WholeCells(validFraction);
        bool planar = image.Shape.Z == 1; // one section: measured as a section, as in memory
        var maps = LevelMaps.FromLevel(image, ok, validFraction, volume.Level, volume.Noise, planar, options, ct);
        var (pooled, resin) = VotePool(maps, volume, options, planar, null, ct);
        return new CoarseVote(pooled, resin, planar ? ResinLikeAt(maps, volume) : null);
    }

    /// <summary>
    /// A full-resolution block of a two-scale run: confidence from the whole volume's pooled vote, mask, refinement
    /// (within the block's core); the pre-mask as <see cref="RunBlock"/> gives it.
    /// </summary>
    public static MaskResult RunFineBlock(IVolume block, ClassicalPlan plan, BlockPlacement placement, CoarseVote coarse, ClassicalMaskOptions? options = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(block);
        ArgumentNullException.ThrowIfNull(placement);
        ArgumentNullException.ThrowIfNull(coarse);
        var volume = plan?.Volume ?? throw new ArgumentException("The plan has no 3D part.", nameof(plan));
        options = (options ?? ClassicalMaskOptions.Default).Validate();
        var warnings = new List<string>();
        var normal = IntensityNormalizer.Normalize(block, plan.Intensity, ct);
        var n = normal.Normalized;
        var valid = InvalidVoxels(block, n, normal.NonFinite, warnings, ct);
        Prepare(n, valid, volume, ct);
        var confidence = n.Like<float>();
        VolumeResampling.TrilinearUpsample(coarse.Pooled, confidence, 1 << volume.Level, placement.Origin);
        var resin = ResinMarkers(coarse.ResinWeight, n, volume.Level, placement.Origin);

        var mask = n.Like<byte>();
        MaskFromConfidence(n, valid, options, volume.Level, placement, mask, confidence, resin, null, final: false, volume.SectionResin, null, ct);
        if (n.Shape.Z == 1)
        {
            CodeResin(mask, resin);
            if (coarse.ResinLike is { } like)
            {
                CodeResinLike(mask, VolumeResampling.TrilinearAtLeast(like, n.Like<byte>(), 1 << volume.Level, placement.Origin, 0.5f));
            }
        }

        MarkInvalid(mask, valid);
        return new MaskResult(mask, confidence, Math.Exp(volume.LogThreshold), warnings, []) { Valid = valid };
    }

    /// <summary>Fills padding, stabilises the noise, models it, chooses the working level and the threshold; <paramref name="n"/> is changed in place.</summary>
    private static (VolumePlan Plan, LevelMaps Chosen, SectionVerdict Verdict) MeasureVolume(Volume<float> n, Volume<byte>? valid, ClassicalMaskOptions options, IProgress<ProgressReport>? progress, CancellationToken ct)
    {
        var shape = n.Shape;
        bool planar = shape.Z == 1;
        var sample = ThresholdSample(n.Span, valid is null ? default : valid.Span, shape.X);
        float fill = sample.Length == 0 ? 0f : Select.Median(sample);
        if (valid is not null)
        {
            FillInvalid(n, valid, fill);
        }

        progress?.Report(new("noise", 0.05));
        var patches = PatchStatistics.Measure(n, valid);
        var stabilizer = VarianceStabilizer.Fit(n, patches);
        if (stabilizer is not null)
        {
            stabilizer.Apply(n, ct);
            patches = PatchStatistics.Measure(n, valid);
        }

        var noise = NoiseModel.Estimate(n, valid, patches);
        ct.ThrowIfCancellationRequested();

        // Texture at the working level (TexturePyramid): the level where resin and tissue separate most clearly, else (one
        // material) for a section the finest where the tissue's texture is clear and for a 3D volume the coarsest, or the
        // level asked for.
        int highest = TexturePyramid.HighestLevel(shape, planar);
        int first = options.Level is { } asked ? Math.Min(asked, highest) : 0;
        int last = options.Level is not null ? first : highest;
        LevelMaps? chosen = null, textured = null, finer = null;
        for (int l = first; l <= last; l++)
        {
            progress?.Report(new($"texture (level {l})", 0.1 + (0.5 * (l - first + 1) / (last - first + 1))));
            var maps = LevelMaps.Compute(n, valid, l, noise, planar, options, ct);
            if (options.Level is null && finer is { Separates: false } && finer.ConfirmBy(maps) && (chosen is null || finer.Clarity > chosen.Clarity))
            {
                chosen = finer; // a noise-like coherent split, confirmed by this level
            }

            finer = maps;
            if (options.Level is not null || (maps.Separates && (chosen is null || maps.Clarity > chosen.Clarity)))
            {
                chosen = maps; // the clearest split at the threshold it would use wins; on a tie the finer level
            }

            if (textured is null && ((planar && maps.Textured) || l == last))
            {
                textured = maps; // 3D: the coarsest level, where the noise has averaged out and only structure remains
            }
        }

        chosen ??= textured!;
        if (!planar && options.Level is null && chosen.Separates && !SectionsConfirm(n, valid, options, ct))
        {
            chosen = textured!; // one material after all: its sections do not separate
        }

        progress?.Report(new("threshold", 0.65));
        double logThreshold = options.Threshold is { } given ? Math.Log(given)
            : chosen.Separates ? Math.Max(chosen.Valley, Math.Log(UnimodalThreshold)) : Math.Log(UnimodalThreshold);
        var (reference, stain, resin) = MeasureRules(chosen, logThreshold, options, planar, n.Shape, ct);
        // Only sections are measured against their stack's agreement.
        var verdict = new SectionVerdict(chosen.Separates, chosen.Level, logThreshold, planar ? chosen.ShareBelow(logThreshold) : double.NaN, reference);
        return (new VolumePlan(fill, stabilizer, noise, chosen.Level, logThreshold, stain, resin, Separated: chosen.Separates || options.Threshold is not null), chosen, verdict);
    }

    /// <summary>
    /// Under a threshold at the working level: the two classes' intensities (the stain rule's reference, whether or not
    /// the rule is on), and the stain and resin rules' references (null where a rule does not apply). Where the texture
    /// classes give no resin reference, both are measured again on the pooled vote's classes (<see cref="PooledClasses"/>),
    /// and where those give none either, in a section of <paramref name="section"/>'s shape large enough to trust its
    /// resin whose texture did not separate at this level, on its intensity classes (<see cref="IntensityClasses"/>;
    /// where the texture separated, its classes decide: on the napari sample phantom the split overrode them).
    /// </summary>
    private static (StainRule.Reference? Classes, StainRule.Reference? Stain, ResinRule.Reference? Resin) MeasureRules(LevelMaps chosen, double logThreshold, ClassicalMaskOptions options, bool planar, Shape3 section, CancellationToken ct)
    {
        var okL = chosen.Valid is null ? default : chosen.Valid.Span;
        var stainSample = StainRule.Sample.Draw(chosen.LogRatio.Span, chosen.Smoothed.Span, okL, chosen.LogRatio.Shape.X);
        var classes = StainRule.Measure(stainSample, (float)logThreshold);
        if (options.DenseThreshold <= 0)
        {
            return (classes, null, null);
        }

        var resin = classes is { } s ? ResinRule.Measure(stainSample, (float)logThreshold, s, options.ResinWindow) : null;
        if (resin is null && options.ResinWindow > 0)
        {
            var pooled = PooledClasses(chosen, logThreshold, options, planar, ct);
            var pooledSample = StainRule.Sample.Draw(pooled.Span, chosen.Smoothed.Span, okL, chosen.LogRatio.Shape.X);
            if (StainRule.Measure(pooledSample, (float)logThreshold) is { } pooledClasses
                && ResinRule.MeasureClass(pooledSample, (float)logThreshold, pooledClasses, options.ResinWindow, stainSample.LogRatio) is { } pooledResin)
            {
                return (pooledClasses, pooledClasses, pooledResin);
            }

            if (planar && !chosen.Separates && TissueEnvelope.TrustsKnownResin(section)
                && IntensityClasses.Measure(chosen.Smoothed, chosen.Valid, stainSample, logThreshold, options.BlockSize, options.ResinWindow, ct) is { } split)
            {
                return (split.Stain, split.Stain, split.Resin);
            }
        }

        return (classes, classes, resin);
    }

    /// <summary>The texture vote sigmoid((log r − log t)/<see cref="Softness"/>) in place of the log ratio, 0 on invalid voxels.</summary>
    private static void ToVote(Volume<float> logRatio, Volume<byte>? valid, double logThreshold, CancellationToken ct)
    {
        ParallelChunks.For(logRatio.Span.Length, (start, count) =>
        {
            var chunk = logRatio.Span.Slice(start, count);
            TensorPrimitives.Add(chunk, (float)-logThreshold, chunk);
            TensorPrimitives.Multiply(chunk, 1f / Softness, chunk);
            TensorPrimitives.Sigmoid(chunk, chunk);
            if (valid is not null)
            {
                var flags = valid.Span.Slice(start, count);
                for (int i = 0; i < chunk.Length; i++)
                {
                    if (flags[i] == 0)
                    {
                        chunk[i] = 0;
                    }
                }
            }
        }, ct);
    }

    /// <summary>Pooled texture vote under which a voxel is in the resin class of <see cref="PooledClasses"/>.</summary>
    public const float PooledResinVote = 0.1f;

    /// <summary>
    /// The classes of the pooled texture vote as log ratios for the rules' measures: log t − 1 (resin) where the vote
    /// sigmoid((log r − log t)/<see cref="Softness"/>), 0 on invalid voxels, pooled over the block as the confidence is,
    /// is under <see cref="PooledResinVote"/>; log t + 1 elsewhere. On coarse images the tissue's per-voxel texture is near
    /// the noise and the per-voxel classes mix resin and tissue (the SEM edge averaged 4×, a 128² crop with 11 % resin:
    /// 29–50 % resin under the threshold, in the class's untextured halves too); the block average is purer (63–65 %).
    /// </summary>
    private static Volume<float> PooledClasses(LevelMaps chosen, double logThreshold, ClassicalMaskOptions options, bool planar, CancellationToken ct)
    {
        var vote = chosen.LogRatio.Clone();
        ToVote(vote, chosen.Valid, logThreshold, ct);
        var pooled = Pool(vote, chosen.ValidFraction, options.BlockSize, planar, ct);
        var p = pooled.Span;
        float resin = (float)logThreshold - 1, tissue = (float)logThreshold + 1;
        for (int i = 0; i < p.Length; i++)
        {
            p[i] = p[i] < PooledResinVote ? resin : tissue;
        }

        return pooled;
    }

    /// <summary>
    /// Vote, pooling, confidence, mask, hole filling and boundary refinement at full resolution. <paramref name="final"/>:
    /// also small-region removal and the padding rule (the in-memory result); otherwise the block's pre-mask. True when the
    /// section's resin is known (<see cref="MaskResult.ResinKnown"/>).
    /// </summary>
    private static bool Finish(Volume<float> n, Volume<byte>? valid, ClassicalMaskOptions options, VolumePlan plan, LevelMaps chosen, BlockPlacement placement, Volume<byte> mask, Volume<float> confidence, bool final, IProgress<ProgressReport>? progress, CancellationToken ct)
    {
        bool planar = n.Shape.Z == 1;
        var (pooled, resinWeight) = VotePool(chosen, plan, options, planar, progress, ct);
        if (chosen.Level == 0)
        {
            pooled.Span.CopyTo(confidence.Span);
        }
        else
        {
            VolumeResampling.TrilinearUpsample(pooled, confidence, 1 << chosen.Level);
        }

        var resin = ResinMarkers(resinWeight, n, chosen.Level, (0, 0, 0));
        // Material at the resin's intensity at full resolution, built only where MaskFromConfidence finds the resin known.
        Func<Volume<byte>>? resinLike = final && planar && plan.Resin is { } reference
            ? () => VolumeResampling.TrilinearAtLeast(ResinRule.AtResinIntensity(chosen.Smoothed, reference, chosen.Valid), n.Like<byte>(), 1 << chosen.Level, (0, 0, 0), 0.5f)
            : null;

        bool known = MaskFromConfidence(n, valid, options, chosen.Level, placement, mask, confidence, resin, resinLike, final, plan.SectionResin, progress, ct);
        if (!final && planar)
        {
            CodeResin(mask, resin);
            if (ResinLikeAt(chosen, plan) is { } like)
            {
                CodeResinLike(mask, VolumeResampling.TrilinearAtLeast(like, n.Like<byte>(), 1 << chosen.Level, (0, 0, 0), 0.5f));
            }
        }

        if (final && planar && options.StainJoin > 0 && TissueEnvelope.TrustsKnownResin(n.Shape))
        {
            JoinStained(n, valid, mask, confidence, options.StainJoin, ct);
        }

        return known;
    }

    // A whole section: stained regions touching its mask join it (StainedAdmission, the mask its own envelope; only
    // valid voxels join); the confidence then agrees with the mask again (only the joined voxels can lie under 0.5).
    private static void JoinStained(Volume<float> n, Volume<byte>? valid, Volume<byte> mask, Volume<float> confidence, double score, CancellationToken ct)
    {
        if (StainedAdmission.Admit(mask, mask, new VolumeBlockSource(n), valid, score, ct) > 0)
        {
            AgreeWithMask(mask.Span, confidence.Span, valid is null ? default : valid.Span);
        }
    }

    /// <summary>The soft vote at the working level, raised for stained material, averaged over the block window (valid cells only).</summary>
    private static (Volume<float> Pooled, Volume<float>? ResinWeight) VotePool(LevelMaps chosen, VolumePlan plan, ClassicalMaskOptions options, bool planar, IProgress<ProgressReport>? progress, CancellationToken ct)
    {
        var logRatio = chosen.LogRatio;
        var smoothed = chosen.Smoothed;
        var okLevel = chosen.Valid;
        var validLevel = chosen.ValidFraction;
        var lr = logRatio.Span;
        double logThreshold = plan.LogThreshold;

        // Vote from texture; tracheae (a stained wall around a resin-like lumen) out; then raised where the material is
        // more stained than tissue; then lowered at the resin's own intensity (before and after pooling).
        var stain = plan.Stain;
        var resinWeight = stain is { } st && plan.Resin is { } resin ? ResinRule.Weight(logRatio, smoothed, resin, st, okLevel, planar, ct) : null;
        var voteVolume = logRatio;
        ToVote(voteVolume, okLevel, logThreshold, ct);

        if (stain is { } reference)
        {
            int gap = TracheaRule.GapAtLevel(options.TracheaGap, chosen.Level);
            var walls = gap > 0 ? TracheaRule.Apply(voteVolume, smoothed.Memory, reference, options.DenseThreshold, gap, planar, ct) : null;
            ParallelChunks.For(lr.Length, (start, count) =>
            {
                var chunk = voteVolume.Span.Slice(start, count);
                var scratch = new float[count];
                StainRule.RaiseVotes(chunk, smoothed.Span.Slice(start, count), reference, options.DenseThreshold, scratch,
                    walls is null ? default : walls.Span.Slice(start, count), okLevel is null ? default : okLevel.Span.Slice(start, count));
            }, ct);
        }

        if (resinWeight is not null)
        {
            ResinRule.Lower(voteVolume, resinWeight, ct);
        }

        progress?.Report(new("pool", 0.75));
        var pooled = Pool(voteVolume, validLevel, options.BlockSize, planar, ct);
        if (resinWeight is not null)
        {
            ResinRule.Lower(pooled, resinWeight, ct);
        }

        return (pooled, resinWeight);
    }

    /// <summary>
    /// Mask = confidence ≥ 0.5 on valid voxels, refined on the image's edges; <paramref name="final"/> also fills, removes
    /// small regions and applies the padding rule. True when a final section's resin is known.
    /// </summary>
    private static bool MaskFromConfidence(Volume<float> n, Volume<byte>? valid, ClassicalMaskOptions options, int level, BlockPlacement placement, Volume<byte> mask, Volume<float> confidence, Volume<byte>? resin, Func<Volume<byte>>? resinLike, bool final, KnownResin? sectionResin, IProgress<ProgressReport>? progress, CancellationToken ct)
    {
        bool planar = n.Shape.Z == 1;
        var ok = valid is null ? default : valid.Span;
        var m = mask.Span;
        // The section's resin is known by its markers (ResinHoleCells working-level cells of them): the rules below that
        // read only their own section then apply. A block of a 3D volume would measure its resin alone.
        long resinCells = ResinHoleCells << (2 * level);
        bool resinKnown = final && planar && resin is not null && CountNonzero(resin) >= resinCells;
        // A tile of a section (a block of a volume of one section) knows its section's resin from the plan.
        var tileResin = !final && planar && resin is not null ? sectionResin : null;
        var c = confidence.Span;
        for (int i = 0; i < m.Length; i++)
        {
            m[i] = c[i] >= 0.5f && (ok.IsEmpty || ok[i] != 0) ? (byte)1 : (byte)0;
        }

        // Refinement works in tiles of the whole volume and hole filling is global, so a block refines exactly as the
        // whole volume does and leaves the filling to the block executor.
        if (options.RefineBoundary)
        {
            progress?.Report(new("refine boundary", 0.85));
            // Where the section's resin is known, the refinement also gets the resin's fine markers, and it takes away
            // only resin-like material (FineResinMarkers, ResinTrim).
            var intensity = resinKnown ? ResinIntensity.Measure(n, resin!, valid, ct)
                : tileResin is { } known ? ResinIntensity.At(n, known.Median, known.Spread, ct) : null;
            var coarse = intensity is null ? null : m.ToArray();
            var markers = intensity is null ? resin : FineResinMarkers.Add(n, resin!, valid, intensity, resinCells, ct, tileResin?.Flat);
            // On sections of at least KnownResinMinimumEdge its intensity also decides the resin markers next to the
            // mask (smaller sections measure it on few cells, and the U-Net's envelope keeps its full margin there).
            var besideMask = TissueEnvelope.TrustsKnownResin(final ? n.Shape : placement.Volume) ? intensity : null;
            BoundaryRefinement.Refine(mask, n, valid, markers, besideMask, level, placement.Origin, placement.Volume, (placement.Core, placement.CoreSize), ct);
            if (intensity is not null)
            {
                ResinTrim.Restore(mask, coarse, intensity);
            }
        }

        if (!final)
        {
            return false;
        }

        // A section's hole holding ResinHoleCells working-level cells of resin markers (resin closed off by touching
        // pieces of tissue) stays open. Only per section: in 3D the block executor fills holes over the whole volume
        // without the resin weight.
        MaskMorphology.FillHoles(mask, perSlice: planar, planar ? resin : null, resinCells, ct);

        // Where the section's resin is known, non-brain that touches the border but holds no material at the resin's
        // intensity (nor padding) is pale tissue the texture missed: it is filled as a hole is.
        if (resinKnown && resinLike is not null)
        {
            var atResinIntensity = resinLike();
            MarkInvalid(atResinIntensity, valid);
            MaskMorphology.FillUnmarked(mask, perSlice: true, atResinIntensity, resinCells, ct);
        }

        progress?.Report(new("regions", 0.95));
        long minimumRegion = options.MinimumRegionFor(mask.Shape.Length);
        if (minimumRegion > 1)
        {
            MaskMorphology.RemoveSmallRegions(mask, minimumRegion, Connectivity.Face, ct);
        }

        AgreeWithMask(m, c, ok);
        return resinKnown;
    }

    private static long CountNonzero(Volume<byte> volume) => volume.Span.Length - volume.Span.Count((byte)0);

    /// <summary>Working-level cells of resin markers (a 2×2 block's worth) that keep a section's hole open.</summary>
    public const int ResinHoleCells = 4;

    // Resin markers at full resolution: where the resin weight, upsampled as the confidence is, reaches
    // BoundaryRefinement.ResinMarkerWeight (1 byte per voxel); null without the resin rule.
    private static Volume<byte>? ResinMarkers(Volume<float>? weight, Volume<float> n, int level, (int Z, int Y, int X) origin) =>
        weight is null ? null : VolumeResampling.TrilinearAtLeast(weight, n.Like<byte>(), 1 << level, origin, BoundaryRefinement.ResinMarkerWeight);

    /// <summary>The texture measured at one pyramid level, and what it says about the volume.</summary>
    private sealed class LevelMaps
    {
        public required int Level { get; init; }

        public required Volume<float> LogRatio { get; init; }

        public required Volume<float> Smoothed { get; init; }

        public Volume<byte>? Valid { get; init; }

        public Volume<float>? ValidFraction { get; init; }

        /// <summary>The log ratio's histogram is clearly bimodal and its lower class is noise-like: resin and tissue separate here.</summary>
        public bool Separates { get; private set; }

        /// <summary>
        /// A section's weak split (η ≥ <see cref="TexturePyramid.CoherentNoiseSeparability"/>) whose lower class is plain
        /// noise in one large region: it separates when the next coarser level's lower class is one large region too
        /// (<see cref="ConfirmBy"/>).
        /// </summary>
        public bool NoiseCoherent { get; init; }

        /// <summary>A section of at least 128² level pixels whose lower class (under its own valley) is one large region.</summary>
        public bool LowerCoherent => LowerCoherentMeasure.Value;

        /// <summary>The measure behind <see cref="LowerCoherent"/>, run on first use.</summary>
        public required Lazy<bool> LowerCoherentMeasure { get; init; }

        /// <summary>Whether <paramref name="coarser"/> (the next level) confirms a <see cref="NoiseCoherent"/> split; if so this level separates.</summary>
        public bool ConfirmBy(LevelMaps coarser)
        {
            Separates |= NoiseCoherent && coarser.LowerCoherent;
            return Separates;
        }

        /// <summary>Otsu's separability of the log ratio at this level.</summary>
        public double Separability { get; init; }

        /// <summary>
        /// Otsu's η of the split at the threshold this level would use (the given one, else the valley but at least
        /// <see cref="UnimodalThreshold"/>): where the valley lies below 2, the split that is used is not Otsu's, and a
        /// level whose classes part cleanly at the valley may still cut its tissue at 2.
        /// </summary>
        public double Clarity { get; init; }

        /// <summary>The valley between the two classes (log units).</summary>
        public double Valley { get; init; }

        /// <summary>The 90th percentile of the ratio reaches the texture target: the tissue's texture is clear.</summary>
        public bool Textured { get; init; }

        /// <summary>The share of the threshold sample (valid cells) whose log ratio lies below <paramref name="logThreshold"/>.</summary>
        public double ShareBelow(double logThreshold)
        {
            var sample = ThresholdSample(LogRatio.Span, Valid is null ? default : Valid.Span, LogRatio.Shape.X);
            return sample.Length == 0 ? 0 : sample.Count(v => v < logThreshold) / (double)sample.Length;
        }

        public static LevelMaps Compute(Volume<float> n, Volume<byte>? valid, int level, NoiseModel noise, bool planar, ClassicalMaskOptions options, CancellationToken ct)
        {
            int factor = 1 << level;
            var image = level == 0 ? n : VolumeResampling.MeanDownsample(n, factor);
            Volume<float>? fraction = null;
            var ok = valid is null ? null : ValidAtLevel(valid, factor, ref fraction);
            return FromLevel(image, ok, fraction, level, noise, planar, options, ct);
        }

        /// <summary>The maps from the image already at the working level (and its valid cells and their 0/1 fraction, or null).</summary>
        public static LevelMaps FromLevel(Volume<float> image, Volume<byte>? ok, Volume<float>? fraction, int level, NoiseModel noise, bool planar, ClassicalMaskOptions options, CancellationToken ct)
        {
            double reference = TexturePyramid.NoiseReference(noise, level, planar, options, ct);
            var (logRatio, smoothed) = TexturePyramid.Measure(image, options, reference, ct);
            var all = ThresholdSample(logRatio.Span, ok is null ? default : ok.Span, logRatio.Shape.X);
            var sample = level == 0 ? TexturePyramid.WithoutFlat(all) : all;
            var histogram = ValueHistogram.Build(sample, ValleyThreshold.Bins);
            var valley = ValleyThreshold.Compute(histogram);
            var lower = sample.Where(v => v < valley.Threshold).ToArray();
            double lowMedian = lower.Length > 0 ? Select.Median(lower) : double.PositiveInfinity;
            // A split that parts exactly flat pixels from the rest is no separation; it may only confirm a finer level's
            // split, by its lower class measured without them (TexturePyramid.FlatRatio).
            bool flatSplit = level > 0 && lowMedian < Math.Log(TexturePyramid.FlatRatio);
            bool separates = !flatSplit && ((valley.Separability >= TexturePyramid.Separability && lowMedian <= Math.Log(TexturePyramid.NoiseLikeRatio))
                || (valley.Separability >= TexturePyramid.NoiseSeparability && lowMedian <= Math.Log(TexturePyramid.NoiseRatio)));
            bool regions = planar && image.Shape.Y >= TexturePyramid.CoherentMinimumSide && image.Shape.X >= TexturePyramid.CoherentMinimumSide;
            // Measured only where a route (or a finer level's confirmation) asks for it.
            var lowerCoherent = new Lazy<bool>(() => regions
                && TexturePyramid.LargestLowerRegionShare(logRatio, ok, flatSplit ? FlatFreeValley(all) : valley.Threshold, options.BlockSize, ct) >= TexturePyramid.CoherentRegionShare);
            if (!separates && !flatSplit && valley.Separability >= TexturePyramid.CoherentSeparability && lowMedian <= Math.Log(TexturePyramid.NoiseLikeRatio))
            {
                separates = lowerCoherent.Value; // textured resin beside tissue: a moderate split whose lower class is one large region
            }

            // A weak split whose lower class is plain noise in one large region: resin if the next level confirms it.
            bool noiseCoherent = !separates && !flatSplit && TexturePyramid.IsNoiseLikeWeakSplit(valley.Separability, lowMedian) && lowerCoherent.Value;
            bool cuts = TexturePyramid.ThresholdCutsUpperClass(sample, valley.Threshold);
            separates &= !cuts;
            double applied = options.Threshold is { } given ? Math.Log(given) : Math.Max(valley.Threshold, Math.Log(UnimodalThreshold));
            double q90 = sample.Length == 0 ? double.NegativeInfinity : Select.Nth(sample, Math.Clamp((int)(TexturePyramid.TextureQuantile * (sample.Length - 1)), 0, sample.Length - 1));
            return new LevelMaps
            {
                Level = level,
                LogRatio = logRatio,
                Smoothed = smoothed,
                Valid = ok,
                ValidFraction = fraction,
                Separates = separates,
                NoiseCoherent = noiseCoherent && !cuts,
                LowerCoherentMeasure = lowerCoherent,
                Separability = valley.Separability,
                Clarity = OtsuThreshold.SeparabilityAt(histogram, applied),
                Valley = valley.Threshold,
                Textured = q90 >= Math.Log(TexturePyramid.TextureTarget),
            };
        }
    }

    // The valley of a threshold sample without its exactly flat pixels (TexturePyramid.WithoutFlat).
    private static double FlatFreeValley(float[] sample) => ValleyThreshold.Compute(TexturePyramid.WithoutFlat(sample)).Threshold;

    // Invalid voxels: exact-constant padding and NaN/Inf; null when every voxel is valid.
    private static Volume<byte>? InvalidVoxels(IVolume input, Volume<float> normalized, long nonFinite, List<string> warnings, CancellationToken ct)
    {
        var padding = PaddingDetector.Detect(normalized, ct);
        Volume<byte>? valid = null;
        if (padding is not null)
        {
            valid = padding;
            var p = valid.Span;
            long count = 0;
            for (int i = 0; i < p.Length; i++)
            {
                count += p[i];
                p[i] = p[i] == 0 ? (byte)1 : (byte)0;
            }

            warnings.Add($"{100.0 * count / p.Length:F1}% of the voxels are exact-constant padding (or saturated); they are non-brain and left out of every statistic.");
        }

        if (nonFinite > 0 && input is Volume<float> raw)
        {
            warnings.Add($"{nonFinite} NaN/Inf voxels were treated as non-brain.");
            valid ??= Filled(normalized.Like<byte>());
            var r = raw.Span;
            var v = valid.Span;
            for (int i = 0; i < r.Length; i++)
            {
                if (!float.IsFinite(r[i]))
                {
                    v[i] = 0;
                }
            }
        }

        return valid;
    }

    private static Volume<byte> Filled(Volume<byte> v)
    {
        v.Span.Fill(1);
        return v;
    }

    // Invalid voxels take the median of the valid ones (measured once per volume), so that no filter sees the padding's value.
    private static void FillInvalid(Volume<float> n, Volume<byte> valid, float median)
    {
        var s = n.Span;
        var ok = valid.Span;
        for (int i = 0; i < s.Length; i++)
        {
            if (ok[i] == 0)
            {
                s[i] = median;
            }
        }
    }

    // The valid mask at a level: blocks whose voxels are all valid (as a 0/1 float volume for pooling and a byte mask).
    private static Volume<byte> ValidAtLevel(Volume<byte> valid, int factor, ref Volume<float>? fraction)
    {
        fraction = ValidFraction(valid, factor);
        return WholeCells(fraction);
    }

    // The share of valid voxels in each cell of the level.
    private static Volume<float> ValidFraction(Volume<byte> valid, int factor)
    {
        var full = valid.Like<float>();
        var f = full.Span;
        var v = valid.Span;
        for (int i = 0; i < f.Length; i++)
        {
            f[i] = v[i];
        }

        return factor == 1 ? full : VolumeResampling.MeanDownsample(full, factor);
    }

    // Cells whose voxels are all valid: the byte mask, and the fraction turned into 0/1 in place.
    private static Volume<byte> WholeCells(Volume<float> fraction)
    {
        var result = fraction.Like<byte>();
        var r = result.Span;
        var q = fraction.Span;
        for (int i = 0; i < r.Length; i++)
        {
            bool whole = q[i] >= 0.99f;
            r[i] = whole ? (byte)1 : (byte)0;
            q[i] = whole ? 1f : 0f;
        }

        return result;
    }

    // The vote averaged over a block of valid voxels (normalised convolution): padding does not dilute the confidence.
    private static Volume<float> Pool(Volume<float> vote, Volume<float>? valid, int block, bool planar, CancellationToken ct)
    {
        if (block <= 1)
        {
            return vote;
        }

        var size = planar ? (1, block, block) : (block, block, block);
        UniformFilter.Apply(vote, vote, size, ct);
        if (valid is null)
        {
            return vote;
        }

        var weight = valid.Like<float>();
        UniformFilter.Apply(valid, weight, size, ct);
        var v = vote.Span;
        var w = weight.Span;
        for (int i = 0; i < v.Length; i++)
        {
            v[i] = w[i] > 1e-6f ? v[i] / w[i] : 0;
        }

        return vote;
    }

    private static double Median(IEnumerable<double> values)
    {
        var a = values.OrderBy(v => v).ToArray();
        return a.Length == 0 ? double.NaN : a[(a.Length - 1) / 2];
    }

    private static string Describe(MaskingMode mode, Shape3 shape, List<VolumeOutcome> outcomes)
    {
        if (outcomes.Count == 0)
        {
            return "no section had valid voxels";
        }

        var levels = outcomes.Select(o => o.Level).Distinct().OrderBy(l => l).ToArray();
        double sigma = Median(outcomes.Select(o => o.Noise.WhiteSigma));
        double correlation = Median(outcomes.Select(o => o.Noise.Correlation));
        string stabilised = outcomes.Any(o => o.Stabilised) ? ", noise stabilised" : string.Empty;
        int resin = outcomes.Count(o => o.Resin);
        string resinRule = resin == 0 ? string.Empty : outcomes.Count == 1 ? ", resin rule" : $", resin rule in {resin} of {outcomes.Count} sections";
        int fromStack = outcomes.Count(o => o.FromStack);
        string stack = fromStack == 0 ? string.Empty : $", the stack's level and threshold in {fromStack} of {outcomes.Count} sections";
        return $"classical: mode {MaskingModes.Name(mode)}, working level {string.Join("/", levels)} ({string.Join("/", levels.Select(l => $"{1 << l}x"))}), " +
               $"threshold {Median(outcomes.Select(o => o.Threshold)):g3}, noise correlation {correlation:F2} voxels{stabilised}{resinRule}{stack}";
    }

    /// <summary>
    /// The note for volumes or sections whose texture did not split into two classes and that did not take their stack's
    /// threshold (null when there are none): they were masked at <see cref="UnimodalThreshold"/>, which keeps an
    /// all-tissue image's tissue but calls textured resin there tissue, and a user who knows the image holds resin should
    /// be told which lever to pull (and one who sees tissue lost there, the other way), which sections these are, and where
    /// the resin rule still found resin there (by its intensity: the pooled vote's or the intensity classes), that it did.
    /// </summary>
    internal static string? DescribeUnseparated(IReadOnlyList<VolumeOutcome> outcomes)
    {
        var unseparated = outcomes.Where(o => !o.Separated && !o.FromStack).ToList();
        if (unseparated.Count == 0)
        {
            return null;
        }

        string where = outcomes.Count == 1 ? "the texture did not split into tissue and resin" : $"in {unseparated.Count} of {outcomes.Count} sections{(unseparated.Count < outcomes.Count ? SectionList(unseparated) : string.Empty)} the texture did not split into tissue and resin";
        int resinFound = unseparated.Count(o => o.Resin);
        string found = resinFound == 0 ? string.Empty
            : outcomes.Count == 1 ? " (the resin rule still found resin by its intensity and called it non-brain)"
            : $" ({resinFound} of them: the resin rule still found resin by its intensity and called it non-brain)";
        return $"{where}{found}, so the unimodal threshold {UnimodalThreshold:g} was used there: right for an image of tissue only; " +
               "if it holds resin that is called tissue, set threshold (e.g. 3) or level by hand; if tissue there is called non-brain, a lower threshold (e.g. 1.2)";
    }

    // " (z = 0, 3, 7)": the sections' indices, in order, the first NamedSections of them ("…" for the rest); empty without indices.
    private static string SectionList(IEnumerable<VolumeOutcome> outcomes)
    {
        var z = outcomes.Where(o => o.Section is not null).Select(o => o.Section!.Value).Order().ToList();
        return z.Count == 0 ? string.Empty
            : $" (z = {string.Join(", ", z.Take(NamedSections))}{(z.Count > NamedSections ? ", …" : string.Empty)})";
    }
}

using EmMask.Core.Masking;
using EmMask.Core.Progress;
using EmMask.Core.Volumes;

namespace EmMask.Core.Blockwise;

/// <summary>
/// The classical masker over a volume too big to hold, block by block: the plan is measured once on
/// <see cref="VolumeSample"/>, each block is read with its halo (<see cref="ClassicalMasker.Halo"/>) and masked by
/// <see cref="ClassicalMasker.RunBlock"/> (the same code as in memory, under the fixed plan), only its core is stored,
/// finished blocks are skipped on resume, and the global steps run over the stored blocks (<see cref="BlockComponents"/>).
/// In 2D mode a block is a run of whole sections and needs neither halo nor global steps.
/// </summary>
public static class ClassicalBlockwise
{
    /// <summary>Bytes of working memory per voxel of a block's read region (measured; see the README's memory table).</summary>
    public const int BytesPerVoxel = 40;

    /// <summary>
    /// Bytes of working memory per voxel of one section masked in 2D mode (its texture at several levels, the vote, the
    /// refinement), over what a block holds per voxel of its sections (<see cref="SectionHeldBytes"/>). Measured on
    /// 2026-12-07: a 6000² SEM section 3.92 GB peak (109 bytes per voxel in all), a 9600² one 10.0 GB (108).
    /// </summary>
    public const int SectionBytesPerVoxel = 100;

    /// <summary>
    /// Bytes per voxel of every section held in 2D mode: the input (up to float32), its normalised copy, the mask and the
    /// confidence. Measured on 2026-12-07: two uint16 6000² sections in memory peaked at 4.22 GB, one at 4.02 GB.
    /// </summary>
    public const int SectionHeldBytes = 14;

    /// <summary>Bytes per voxel of the in-memory masker of a volume in 3D mode (measured; see the README's memory table).</summary>
    public const int InMemoryBytesPerVoxel = 43;

    /// <summary>
    /// The working memory of the in-memory masker: in 2D mode the sections held (<see cref="SectionHeldBytes"/>) and one
    /// section's work (<see cref="SectionBytesPerVoxel"/>); in 3D <see cref="InMemoryBytesPerVoxel"/> per voxel.
    /// </summary>
    public static long InMemoryBytes(Shape3 shape, MaskingMode mode) => mode == MaskingMode.TwoD
        ? (shape.Length * SectionHeldBytes) + ((long)shape.SliceLength * SectionBytesPerVoxel)
        : shape.Length * InMemoryBytesPerVoxel;

    /// <summary>
    /// Bytes per voxel of a tile's read region that a section whose resin is known adds (<see cref="ClassicalPlan.KnowsSectionResin"/>:
    /// the resin's smoothed image, the local spread and its scratch, the fine markers and the resin-like map), with some
    /// margin. Measured on 2026-12-07: tiles of 4608² plus halo of a 6000² SEM section peaked at about 50 bytes per voxel
    /// of the read region (<c>benchmarks/large_section.py</c>).
    /// </summary>
    public const int KnownResinBytesPerVoxel = 20;

    /// <summary>Layers of whole sections (one block deep) held at once by the global steps and the writer.</summary>
    public const int LayerCopies = 3;

    /// <summary>Bytes per cell of the working level held by a two-scale run (image, pooled vote and the texture maps).</summary>
    public const int CoarseBytesPerCell = 48;

    /// <summary>
    /// Bytes per voxel of a layer of sections (one block deep) that the writer of a confidence map holds beside the
    /// mask's layers: float32, two layers where a band of the writer straddles them (<see cref="BlockwiseConfidence"/>).
    /// </summary>
    public const int ConfidenceLayerBytes = 2 * sizeof(float);

    /// <summary>Measures the plan on the sample of <paramref name="source"/> (of at most <paramref name="sampleLimit"/> voxels).</summary>
    public static ClassicalPlan Plan(IBlockSource source, ClassicalMaskOptions options, CancellationToken ct = default, long sampleLimit = VolumeSample.Limit)
    {
        ArgumentNullException.ThrowIfNull(source);
        var sample = ClassicalMasker.ReadSample(source, options, ct, sampleLimit);
        return ClassicalMasker.Plan(sample, source.Shape, source.VoxelSize, options, ct);
    }

    /// <summary>
    /// Bytes per voxel of the sample while the plan is measured on it (the texture at every level, the vote, the section's
    /// resin), with some margin. Measured on 2026-12-07: a one-section plan on the 8.4 Mvoxel sample of a 6000² SEM
    /// section peaked at about 1.3 GB (155 bytes per voxel); <c>benchmarks/large_section.py</c> checks the budget.
    /// </summary>
    public const int PlanBytesPerVoxel = 160;

    /// <summary>The smallest sample a memory budget may ask for (1 Mvoxel: under it the budget cannot be held anyway).</summary>
    public const long MinimumSample = 1L << 20;

    /// <summary>The voxels of the sample a plan may be measured on within <paramref name="maxMemory"/> bytes (<see cref="PlanBytesPerVoxel"/>), between <see cref="MinimumSample"/> and <see cref="VolumeSample.Limit"/>.</summary>
    public static long SampleFor(long maxMemory) => Math.Clamp(maxMemory / PlanBytesPerVoxel, MinimumSample, VolumeSample.Limit);

    /// <summary>
    /// The plan for a run within <paramref name="maxMemory"/> bytes (<see cref="BlockEdgeFor"/>): <see cref="Plan(IBlockSource, ClassicalMaskOptions, CancellationToken, long)"/>,
    /// except that a volume of one section masked in 2D mode, where a block is a whole section, is tiled in-plane when
    /// that section does not fit: it is then measured and masked as a volume of one section, in blocks with halos, with
    /// the same texture, pooling and refinement as a section in memory (<see cref="ClassicalMasker.RunBlock"/>), and stained
    /// regions joining the mask over the tiles (<see cref="TiledStainJoin"/>; <see cref="TiledSectionNote"/>). The tiled
    /// plan is measured on a sample the budget holds (<see cref="SampleFor"/>). A stack of sections too large for one
    /// block each, or a section whose tiles do not fit either, stays in 2D mode (and <see cref="BlockEdgeFor"/> finds no
    /// edge).
    /// </summary>
    /// <param name="source">The volume.</param>
    /// <param name="options">The masker's options.</param>
    /// <param name="maxMemory">The working-memory budget in bytes.</param>
    /// <param name="confidence">Whether a confidence map is written too (<see cref="BlockEdgeFor"/>).</param>
    /// <param name="ct">Cancels the work.</param>
    public static ClassicalPlan Plan(IBlockSource source, ClassicalMaskOptions options, long maxMemory, bool confidence, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(options);
        // A section that does not fit whole (in 2D mode a block is a whole section: SectionsFor) is measured in tiles
        // only, on a sample the budget holds; everything else as without a budget.
        var shape = source.Shape;
        bool whole = shape.Z != 1 || MaskingModes.Resolve(options.Mode, shape, source.VoxelSize) != MaskingMode.TwoD || SectionFits(maxMemory, shape, confidence);
        if (whole)
        {
            return Plan(source, options, ct);
        }

        var tiled = Plan(source, options with { Mode = MaskingMode.ThreeD }, ct, SampleFor(maxMemory));
        return BlockEdgeFor(maxMemory, shape, tiled, options, confidence) is null ? Plan(source, options, ct) : tiled; // no tile fits either: the section's own need is the error
    }

    /// <summary>Whether <see cref="Plan(IBlockSource, ClassicalMaskOptions, long, bool, CancellationToken)"/> tiles this one-section volume.</summary>
    public static bool TilesSection(Shape3 shape, ClassicalPlan plan, ClassicalMaskOptions options, long maxMemory, bool confidence = false)
    {
        ArgumentNullException.ThrowIfNull(plan);
        return shape.Z == 1 && plan.Mode == MaskingMode.TwoD && BlockEdgeFor(maxMemory, shape, plan, options, confidence) is null;
    }

    /// <summary>
    /// What the classical global steps fill as holes: in a volume of one section, the section's holes (no z faces), those
    /// holding <see cref="ClassicalMasker.ResinHoleCells"/> working-level cells of resin markers left open, and, where the
    /// plan knows the section's resin (<see cref="ClassicalPlan.KnowsSectionResin"/>), border regions holding fewer
    /// cells of material at the resin's intensity (or padding), as in memory; else every hole of the volume.
    /// </summary>
    public static HoleRule HolesOf(Shape3 shape, ClassicalPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (shape.Z != 1 || plan.Level is not { } level)
        {
            return HoleRule.Volume;
        }

        long cells = (long)ClassicalMasker.ResinHoleCells << (2 * level);
        return new HoleRule(false, cells, plan.KnowsSectionResin ? cells : 0);
    }

    /// <summary>The note of a run whose one section was tiled (<see cref="TilesSection"/>).</summary>
    public static string TiledSectionNote(Shape3 shape) =>
        $"the section ({shape.Y}x{shape.X}) does not fit the memory budget as one block, so it was masked in tiles as a volume of one section " +
        "(the texture, pooling, refinement and hole filling of a section in memory, and where its resin is known, measured on its sample, the fine resin " +
        "markers and the pale border regions without resin filled, and stained regions touching the mask joined over the tiles)";

    /// <summary>
    /// The grid for a block edge (a cube in 3D, rounded up to the working level's cell; whole sections in 2D).
    /// </summary>
    /// <exception cref="ArgumentException">The block edge is smaller than the halo (the block would mostly be context).</exception>
    public static BlockGrid Grid(Shape3 shape, ClassicalPlan plan, ClassicalMaskOptions options, int blockEdge)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockEdge, 1);
        if (plan.Volume is null)
        {
            long perSection = shape.SliceLength;
            int sections = (int)Math.Clamp((long)blockEdge * blockEdge * blockEdge / perSection, 1, shape.Z);
            return new BlockGrid(shape, new Shape3(sections, shape.Y, shape.X), 0);
        }

        int halo = ClassicalMasker.Halo(plan, options);
        int alignment = ClassicalMasker.Alignment(plan, options);
        int edge = (blockEdge + alignment - 1) / alignment * alignment;
        if (edge < halo && edge < Math.Max(shape.Z, Math.Max(shape.Y, shape.X)))
        {
            throw new ArgumentException(
                $"Block size {blockEdge} is smaller than the halo of {halo} voxels this volume needs (working level {plan.Level}); " +
                $"use --block {Math.Max(halo, 64)} or more, or give more --max-memory.");
        }

        return new BlockGrid(shape, new Shape3(edge, edge, edge), halo, alignment);
    }

    /// <summary>
    /// The largest block edge whose read region fits in <paramref name="maxMemory"/> bytes, or null when not even a block
    /// as large as the halo fits. With <paramref name="confidence"/> the writer's layers also hold the confidence map
    /// (<see cref="ConfidenceLayerBytes"/>).
    /// </summary>
    public static int? BlockEdgeFor(long maxMemory, Shape3 shape, ClassicalPlan plan, ClassicalMaskOptions options, bool confidence = false)
    {
        ArgumentNullException.ThrowIfNull(plan);
        // A tile of a section whose resin is known also holds the refinement's resin maps (KnownResinBytesPerVoxel).
        int perVoxel = BytesPerVoxel + (plan.KnowsSectionResin ? KnownResinBytesPerVoxel : 0);
        long budget = maxMemory / perVoxel;
        if (plan.Volume is null)
        {
            long sections = SectionsFor(maxMemory, shape, confidence);
            return sections < 1 ? null : (int)Math.Min(int.MaxValue, (long)Math.Cbrt(Math.Min(sections, shape.Z) * (double)shape.SliceLength));
        }

        int halo = ClassicalMasker.Halo(plan, options);
        int alignment = ClassicalMasker.Alignment(plan, options);
        if (ClassicalMasker.IsTwoScale(plan))
        {
            int factor = 1 << plan.Level!.Value;
            budget -= EmMask.Core.Inference.VolumeResampling.DownsampledShape(shape, factor).Length * CoarseBytesPerCell / perVoxel;
        }

        // The largest edge whose read region, plus the layers of sections the global steps and the writer hold
        // (LayerCopies × edge × Y × X bytes, and ConfidenceLayerBytes more per voxel with a confidence map), fit: in whole
        // 64-voxel HDF5 chunks where possible, else in alignment steps.
        int longest = Math.Max(shape.Z, Math.Max(shape.Y, shape.X));
        int layerBytes = LayerCopies + (confidence ? ConfidenceLayerBytes : 0) + (TiledStainJoin.Applies(shape, plan, options) ? TiledStainJoin.HeldBytesPerVoxel : 0);
        bool Fits(int edge)
        {
            long layers = layerBytes * (long)Math.Min(edge, shape.Z) * shape.SliceLength / perVoxel;
            return ReadVoxels(shape, edge, halo) + layers <= budget;
        }

        foreach (int step in new[] { Math.Max(alignment, 64), alignment })
        {
            int top = (longest + step - 1) / step * step;
            for (int edge = top; edge >= Math.Max(step, Math.Max(halo, alignment)); edge -= step)
            {
                if (Fits(edge))
                {
                    return Math.Min(edge, longest) == longest ? longest : edge;
                }
            }
        }

        return null;
    }

    /// <summary>Whether, in 2D mode, a block of one whole section of <paramref name="shape"/> fits <paramref name="maxMemory"/> bytes (else the section is tiled).</summary>
    public static bool SectionFits(long maxMemory, Shape3 shape, bool confidence = false) => SectionsFor(maxMemory, shape, confidence) >= 1;

    // 2D mode: the whole sections a block may hold within the budget, each held (with its layers in the writer) and one
    // at a time at work (SectionBytesPerVoxel); under 1 when not even one section fits.
    private static long SectionsFor(long maxMemory, Shape3 shape, bool confidence)
    {
        long slice = Math.Max(1, shape.SliceLength);
        long held = slice * (SectionHeldBytes + LayerCopies + (confidence ? ConfidenceLayerBytes : 0));
        return (maxMemory - (slice * SectionBytesPerVoxel)) / held;
    }

    /// <summary>The voxels of a block's read region (core edge plus the halo on each side, within the volume's extent).</summary>
    public static long ReadVoxels(Shape3 shape, int edge, int halo)
    {
        long read = edge + (2L * halo);
        return Math.Min(read, shape.Z) * Math.Min(read, shape.Y) * Math.Min(read, shape.X);
    }

    /// <summary>
    /// Masks every block not yet in <paramref name="store"/>, then runs the global steps. The result hands out the final
    /// mask row by row; nothing but the store and one block row is held.
    /// </summary>
    public static BlockwiseMask Run(
        IBlockSource source,
        IBlockStore store,
        BlockGrid grid,
        ClassicalPlan plan,
        ClassicalMaskOptions options,
        IProgress<ProgressReport>? progress = null,
        CancellationToken ct = default) => Run(source, store, grid, plan, options, null, progress, ct);

    /// <summary>
    /// As the other overload; <paramref name="confidence"/> also receives each block's core confidence (before the global
    /// steps; 0 on padding, as in memory; <see cref="BlockwiseConfidence"/> makes it agree with the final mask), and <paramref name="valid"/> the core of each block that holds padding or NaN voxels (0 there, 1 elsewhere;
    /// <see cref="MaskResult.Valid"/>; not for blocks resumed from the store).
    /// </summary>
    public static BlockwiseMask Run(
        IBlockSource source,
        IBlockStore store,
        BlockGrid grid,
        ClassicalPlan plan,
        ClassicalMaskOptions options,
        Action<BlockRegion, Volume<float>>? confidence,
        IProgress<ProgressReport>? progress = null,
        CancellationToken ct = default,
        Action<BlockRegion, Volume<byte>>? valid = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(grid);
        ArgumentNullException.ThrowIfNull(plan);
        options = options.Validate();
        if (grid.Shape != source.Shape)
        {
            throw new ArgumentException($"The grid's shape {grid.Shape} differs from the volume's {source.Shape}.", nameof(grid));
        }

        bool twoScale = ClassicalMasker.IsTwoScale(plan);
        CoarseVote? pooled = null;
        if (twoScale && !grid.Blocks().All(store.IsDone))
        {
            pooled = Coarse(source, grid, plan, options, progress, ct);
        }

        // 2D: which sections' resin the masker knows (blocks are whole sections; a resumed block's stay false).
        var resinKnown = plan.Volume is null ? new bool[grid.Shape.Z] : null;
        var pass = BlockPass.Run(
            source,
            store,
            grid,
            (block, input) =>
            {
                var placement = new BlockPlacement(block.Read, grid.Shape, block.CoreInRead, block.CoreSize);
                var result = twoScale
                    ? ClassicalMasker.RunFineBlock(input, plan, placement, pooled!, options, ct)
                    : ClassicalMasker.RunBlock(input, plan, placement, options, ct);
                if (resinKnown is not null && result.ResinKnown is { } known)
                {
                    for (int z = 0; z < known.Count; z++)
                    {
                        resinKnown[block.Read.Z + z] = known[z];
                    }
                }

                if (valid is not null && result.Valid is { } measured)
                {
                    valid(block, block.CropCore(measured));
                }

                return result;
            },
            confidence is null ? null : (block, result) => confidence(block, CoreConfidence(block, result)),
            progress,
            twoScale ? 0.3 : 0,
            twoScale ? 0.6 : 0.9,
            ct);
        int skipped = pass.Skipped;

        Func<BlockRegion, Volume<byte>> final = block => store.Read(block, ct);
        long joined = 0;
        if (plan.Volume is not null)
        {
            bool join = TiledStainJoin.Applies(grid.Shape, plan, options);
            var scaled = ProgressRange.Of(progress, 0.9, join ? 0.05 : 0.1);
            var components = BlockComponents.Measure(grid, store, options.MinimumRegionFor(grid.Shape.Length), scaled, ct, HolesOf(grid.Shape, plan));
            final = block => components.Final(block, ct);
            if (join)
            {
                // A tiled section: stained regions touching its mask join it, as a whole section's do in memory.
                (var section, joined) = TiledStainJoin.Run(source, grid, plan, options.StainJoin, final, block => store.Read(block, ct), ProgressRange.Of(progress, 0.95, 0.05), ct);
                final = block => VolumeRegions.Crop(section, block.Core, block.CoreSize);
            }
        }

        var notes = new List<string>
        {
            $"block-wise: {grid.Count} blocks of {grid.BlockSize} with a halo of {grid.Halo}" + (skipped > 0 ? $", {skipped} finished earlier and resumed" : string.Empty),
            plan.Volume is { } v
                ? $"classical: mode 3d, working level {v.Level} ({1 << v.Level}x), threshold {Math.Exp(v.LogThreshold):g3} (measured once on the volume's sample)" +
                  (twoScale ? "; texture on the whole volume's working-level image, full resolution block by block" : string.Empty)
                : "classical: mode 2d, blocks of whole sections",
        };
        if (plan.Volume is { } measured && ClassicalMasker.DescribeUnseparated([measured.Outcome]) is { } unseparated)
        {
            notes.Add(unseparated);
        }

        if (joined > 0)
        {
            notes.Add(FormattableString.Invariant($"stained regions touching the mask joined it: {joined} voxels ({100.0 * joined / grid.Shape.Length:0.0} %)"));
        }

        return new BlockwiseMask(grid, final, source.VoxelSize, pass.Warnings, notes, skipped) { ResinKnown = resinKnown };
    }

    // A block's core confidence: 0 on padding (pre-mask InvalidCode), whose mask the global steps keep non-brain.
    private static Volume<float> CoreConfidence(BlockRegion block, MaskResult result)
    {
        var m = result.Mask.Span;
        var c = result.Confidence.Span;
        for (int i = 0; i < m.Length; i++)
        {
            if (m[i] == ClassicalMasker.InvalidCode)
            {
                c[i] = 0;
            }
        }

        return block.CropCore(result.Confidence);
    }

    /// <summary>
    /// The in-memory masker's path for large volumes (<see cref="ClassicalMasker.Run"/>): the same blocks, with the
    /// output mask itself as the store, so the peak is the input, the mask (1 byte per voxel), the confidence (4) and
    /// one block's working memory within <paramref name="budget"/>.
    /// </summary>
    public static MaskResult RunInMemory(IVolume input, ClassicalPlan plan, ClassicalMaskOptions options, long budget, IProgress<ProgressReport>? progress = null, CancellationToken ct = default, bool withConfidence = true)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(plan);
        var shape = input.Shape;
        int edge = BlockEdgeFor(budget, shape, plan, options) ?? Math.Max(ClassicalMasker.Halo(plan, options), ClassicalMasker.Alignment(plan, options));
        var grid = Grid(shape, plan, options, edge);
        var mask = new Volume<byte>(shape, input.VoxelSize);
        var confidence = withConfidence ? new Volume<float>(shape, input.VoxelSize) : new Volume<float>(new Shape3(0, 0, 0), input.VoxelSize);
        var store = new VolumeRegionStore(mask);
        Action<BlockRegion, Volume<float>>? keep = withConfidence ? (block, core) => VolumeRegions.Paste(core, confidence, block.Core) : null;
        var valid = new BlockValidMap(shape, input.VoxelSize);
        var result = Run(new VolumeBlockSource(input), store, grid, plan, options, keep, progress, ct, valid.Add);
        if (!withConfidence)
        {
            foreach (var block in grid.Blocks())
            {
                VolumeRegions.Paste(result.Final(block), mask, block.Core);
            }

            return new MaskResult(mask, confidence, plan.Threshold ?? ClassicalMasker.UnimodalThreshold, result.Warnings, [.. result.Notes, $"in memory, {grid.Count} blocks of {grid.BlockSize}; no confidence map (not asked for)"]) { ResinKnown = result.ResinKnown, Valid = valid.Volume };
        }

        // Padding's confidence is 0 already (CoreConfidence); each block's final mask replaces its pre-mask (a block's
        // final reads only its own pre-mask, so in place is safe); then the confidence agrees with the mask, as a
        // block-wise run's does block by block (BlockwiseConfidence).
        foreach (var block in grid.Blocks())
        {
            VolumeRegions.Paste(result.Final(block), mask, block.Core);
        }

        ClassicalMasker.AgreeWithMask(mask.Span, confidence.Span, default);

        var notes = new List<string>(result.Notes) { $"in memory, {grid.Count} blocks of {grid.BlockSize} (working memory ≤ {budget >> 20} MB)" };
        return new MaskResult(mask, confidence, plan.Threshold ?? ClassicalMasker.UnimodalThreshold, result.Warnings, notes) { ResinKnown = result.ResinKnown, Valid = valid.Volume };
    }

    /// <summary>
    /// Two-scale pass 1: every block's working-level image (cores only: cells never straddle blocks) assembled into the
    /// whole volume's, then its pooled vote in memory.
    /// </summary>
    private static CoarseVote Coarse(IBlockSource source, BlockGrid grid, ClassicalPlan plan, ClassicalMaskOptions options, IProgress<ProgressReport>? progress, CancellationToken ct)
    {
        int factor = 1 << plan.Level!.Value;
        var shape = EmMask.Core.Inference.VolumeResampling.DownsampledShape(grid.Shape, factor);
        var image = new Volume<float>(shape, source.VoxelSize);
        Volume<float>? fraction = null;
        int done = 0;
        foreach (var block in grid.Blocks())
        {
            ct.ThrowIfCancellationRequested();
            var input = source.Read(block.Core, block.CoreSize, ct);
            var (coarse, valid) = ClassicalMasker.CoarseBlock(input, plan, ct);
            var at = (block.Core.Z / factor, block.Core.Y / factor, block.Core.X / factor);
            VolumeRegions.Paste(coarse, image, at);
            if (valid is not null)
            {
                if (fraction is null)
                {
                    fraction = image.Like<float>();
                    fraction.Span.Fill(1f);
                }

                VolumeRegions.Paste(valid, fraction, at);
            }

            progress?.Report(new($"working level: block {++done}/{grid.Count}", 0.25 * done / grid.Count));
        }

        progress?.Report(new("working level: texture and vote", 0.28));
        return ClassicalMasker.CoarseConfidence(image, fraction, plan, options, ct);
    }

}

/// <summary>The result of a block-wise run: the final mask row by row (for a streaming writer), and what the run said.</summary>
public sealed class BlockwiseMask : IRowSource<byte>
{
    private readonly BlockGrid grid;
    private readonly Func<BlockRegion, Volume<byte>> final;
    private readonly BlockRows<byte> rows;
    private long tissue;

    internal BlockwiseMask(BlockGrid grid, Func<BlockRegion, Volume<byte>> final, VoxelSize voxelSize, IReadOnlyList<string> warnings, IReadOnlyList<string> notes, int resumed, int reach = BlockRows<byte>.DefaultReach)
    {
        this.grid = grid;
        this.final = final;
        rows = new BlockRows<byte>(grid, Counted, voxelSize, reach);
        VoxelSize = voxelSize;
        Warnings = warnings;
        Notes = notes;
        Resumed = resumed;
    }

    /// <inheritdoc/>
    public Shape3 Shape => grid.Shape;

    /// <inheritdoc/>
    public VoxelSize VoxelSize { get; }

    /// <summary>Warnings from the blocks (each once).</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>What was done.</summary>
    public IReadOnlyList<string> Notes { get; }

    /// <summary>Blocks that an earlier run had finished.</summary>
    public int Resumed { get; }

    /// <summary>2D mode: per section, whether the masker knows its resin (<see cref="MaskResult.ResinKnown"/>; false in
    /// resumed blocks); null in 3D or when not measured.</summary>
    public IReadOnlyList<bool>? ResinKnown { get; init; }

    /// <summary>Tissue voxels among the block layers handed out so far (all of them once the writer is done).</summary>
    public long TissueVoxels => tissue;

    /// <summary>The grid the mask is stored in.</summary>
    public BlockGrid Grid => grid;

    /// <summary>A mask whose blocks are final as stored (another method's block-wise run, e.g. the U-Net's).</summary>
    public static BlockwiseMask FromStore(BlockGrid grid, IBlockStore store, VoxelSize voxelSize, IReadOnlyList<string> warnings, IReadOnlyList<string> notes, int resumed)
    {
        ArgumentNullException.ThrowIfNull(store);
        return FromBlocks(grid, block => store.Read(block, CancellationToken.None), voxelSize, warnings, notes, resumed);
    }

    /// <summary>A mask whose blocks come final from <paramref name="final"/> (1 tissue; any other value non-brain).</summary>
    public static BlockwiseMask FromBlocks(BlockGrid grid, Func<BlockRegion, Volume<byte>> final, VoxelSize voxelSize, IReadOnlyList<string> warnings, IReadOnlyList<string> notes, int resumed)
    {
        ArgumentNullException.ThrowIfNull(final);
        return new BlockwiseMask(grid, final, voxelSize, warnings, notes, resumed);
    }

    /// <summary>
    /// The mask <paramref name="factor"/> times coarser (<see cref="MaxPooledRows"/>), read through a fresh pass over the
    /// blocks (for a multiscale output written after the full-resolution one).
    /// </summary>
    public IRowSource<byte> Coarser(int factor)
    {
        var again = new BlockwiseMask(grid, final, VoxelSize, Warnings, Notes, Resumed, 17 * factor); // a writer goes back one coarse chunk (16 sections)
        return new MaxPooledRows(again, factor);
    }

    /// <summary>One block's final mask (0/1).</summary>
    public Volume<byte> Final(BlockRegion block)
    {
        var core = final(block);
        var s = core.Span;
        for (int i = 0; i < s.Length; i++)
        {
            s[i] = s[i] == 1 ? (byte)1 : (byte)0;
        }

        return core;
    }

    /// <summary>
    /// The mask after <paramref name="pipeline"/> (<see cref="BlockPostProcessing"/>); each step's blocks go into a store
    /// from <paramref name="storeFor"/>.
    /// </summary>
    public BlockwiseMask PostProcess(PostProcessing.PostProcessPipeline pipeline, Func<int, IBlockStore> storeFor, IProgress<ProgressReport>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        if (pipeline.Operations.Count == 0)
        {
            return this;
        }

        var read = BlockPostProcessing.Apply(grid, final, pipeline, VoxelSize, storeFor, progress, ct);
        return new BlockwiseMask(grid, read, VoxelSize, Warnings, Notes, Resumed);
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Layers of blocks (one block row in z) are assembled on first use and kept while a writer may still come back to
    /// them (<see cref="BlockRows{T}"/>); padding codes are non-brain.
    /// </remarks>
    public void CopyRow(int z, int y, Span<byte> destination) => rows.CopyRow(z, y, destination);

    /// <summary>The whole mask in memory (tests, and volumes that fit).</summary>
    public Volume<byte> ToVolume()
    {
        var result = new Volume<byte>(Shape, VoxelSize);
        for (int z = 0; z < Shape.Z; z++)
        {
            for (int y = 0; y < Shape.Y; y++)
            {
                CopyRow(z, y, result.Row(z, y));
            }
        }

        return result;
    }

    // A block's final mask as the writer gets it (0/1), its tissue counted once (each layer is assembled once).
    private Volume<byte> Counted(BlockRegion block)
    {
        var core = Final(block);
        tissue += core.Span.Count((byte)1);
        return core;
    }
}

using EmMask.Core.Blockwise;
using EmMask.Core.Inference;
using EmMask.Core.Masking;
using EmMask.Core.Progress;
using EmMask.Core.Volumes;
using EmMask.Learning.Preprocessing;

namespace EmMask.Learning.Inference;

/// <summary>
/// The U-Net over a volume too big to hold, block by block, through the one <see cref="UNetMasker"/>: the normalisation
/// (intensity map and the model's percentiles) is measured once on <see cref="VolumeSample"/>, the tissue envelope once
/// for the whole volume (the classical mask block by block, then grown and filled: it is held in memory, 1 byte per
/// voxel, with 4 bytes per voxel of scratch while it grows), and each block is read so that its windows lie on the
/// whole volume's window grid (<see cref="Geometry"/>): the network's output depends on where a window sits, so only
/// the same windows give the same blend. Only the core's mask is stored (and, for a confidence map, the core's
/// probabilities: <see cref="BlockwiseConfidence"/>).
/// </summary>
public static class UNetBlockwise
{
    /// <summary>
    /// The block geometry that puts every block's windows on the whole volume's window grid (MONAI's dense patch starts
    /// i·interval, interval = int(roi·(1 − overlap)), at the working scale): cores are multiples of interval·scale, each
    /// read from interval·scale before the core (the first window that covers its first voxel) to roi·scale after it
    /// (so the block's last window start, the read end minus roi, is again on the grid). Every window that covers a
    /// core voxel in the whole volume is then one of the block's, with the same input, so the blend is the same. With the
    /// wider pass that confirms anchors (twice the scale) the geometry is that pass's: its step is a multiple of the
    /// working scale's, its margins are wider, and the one window a block adds at its read end (not on the working
    /// scale's grid) starts after the core, so both passes blend as in the whole volume. The roi is the window the
    /// network sees on this volume (<see cref="SlidingWindowOptions.WindowFor"/>): a stack predicted section by section
    /// has a wider in-plane window, and needs no context along z (<c>Planar</c>).
    /// </summary>
    /// <param name="windows">The run's window options (<see cref="UNetMasker.WindowOptions(UNetMaskOptions, int)"/>), at the working scale.</param>
    /// <param name="options">The run's options (whether anchors are confirmed at twice the scale).</param>
    /// <param name="shape">The whole volume's shape.</param>
    /// <param name="voxel">Its voxel size (an anisotropic stack goes section by section).</param>
    public static (int Step, int Before, int After, bool Planar) Geometry(SlidingWindowOptions windows, UNetMaskOptions options, Shape3 shape, VoxelSize voxel)
    {
        ArgumentNullException.ThrowIfNull(windows);
        ArgumentNullException.ThrowIfNull(options);
        bool planar = windows.UsesSections(shape, voxel);
        int roi = RoundUp(windows.WindowFor(shape, voxel).X, windows.PadMultiple); // in-plane, y and x alike
        int interval = Math.Max(1, (int)(roi * (1 - windows.Overlap)));
        int coarsest = options.CoarsestScale(windows.Scale);
        return (interval * coarsest, interval * coarsest, roi * coarsest, planar);
    }

    /// <summary>
    /// The core of a block along an axis of <paramref name="length"/> voxels: <paramref name="core"/>, or the whole axis
    /// where the coarsest pass sees it in one window (<paramref name="window"/> voxels at that scale): that window is
    /// centred on the padded axis, so only the whole axis gives it.
    /// </summary>
    private static int CoreAlong(int length, int core, int window) => length <= window ? length : core;

    /// <summary>
    /// The largest core edge (a multiple of the grid's step) whose block-wise run fits <paramref name="budget"/> bytes
    /// (<see cref="UNetMemory.BlockwiseBytes"/>), or the smallest, the step, where none does: <paramref name="need"/> is
    /// the estimate for the edge returned, over the budget in that case. <paramref name="layerBytes"/>: bytes per voxel
    /// of the layers of sections the writer holds.
    /// </summary>
    public static int BlockEdgeFor(long budget, Shape3 shape, VoxelSize voxel, SlidingWindowOptions windows, UNetMaskOptions options, int layerBytes, out long need)
    {
        var geometry = Geometry(windows, options, shape, voxel);
        var (step, _, _, planar) = geometry;
        long Need(int core)
        {
            var grid = Grid(shape, core, geometry);
            return UNetMemory.BlockwiseBytes(shape, grid.LargestRead, planar, grid.BlockSize.Z, layerBytes);
        }

        int longest = Math.Max(planar ? 1 : shape.Z, Math.Max(shape.Y, shape.X));
        int best = step;
        need = Need(step);
        for (int core = 2 * step; core < longest + step; core += step)
        {
            long n = Need(core);
            if (n > budget)
            {
                break;
            }

            (best, need) = (core, n);
        }

        return best;
    }

    /// <summary>
    /// The core edge for a block-wise run of <paramref name="masker"/> on <paramref name="source"/> under
    /// <paramref name="budget"/> (<see cref="BlockEdgeFor(long, Shape3, VoxelSize, SlidingWindowOptions, UNetMaskOptions, int, out long)"/>
    /// at the run's working scale and window; loads the model, as a run does), with <paramref name="confidence"/> when the
    /// writer also holds the confidence map's layers.
    /// </summary>
    public static int BlockEdgeFor(long budget, IBlockSource source, UNetMasker masker, UNetMaskOptions options, bool confidence, out long need)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(masker);
        options = (options ?? UNetMaskOptions.Default).Validate();
        int scale = options.Scale ?? WorkingScale.FromVoxelSize(source.VoxelSize, source.Shape);
        int layerBytes = ClassicalBlockwise.LayerCopies + (confidence ? ClassicalBlockwise.ConfidenceLayerBytes : 0);
        return BlockEdgeFor(budget, source.Shape, source.VoxelSize, masker.WindowOptions(options, scale), options, layerBytes, out need);
    }

    /// <summary>
    /// The block grid of cores of <paramref name="core"/> (a multiple of the step) under <paramref name="geometry"/>
    /// (<see cref="Geometry"/>): an axis within one coarsest window is one block, and a block at the volume's end reads
    /// at least one coarsest window, so its last window is the whole volume's.
    /// </summary>
    private static BlockGrid Grid(Shape3 shape, int core, (int Step, int Before, int After, bool Planar) geometry)
    {
        var (step, before, after, planar) = geometry;
        var cores = new Shape3(planar ? core : CoreAlong(shape.Z, core, after), CoreAlong(shape.Y, core, after), CoreAlong(shape.X, core, after));
        return new BlockGrid(shape, cores, before, step, after, planar, minimumRead: after);
    }

    private static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;

    /// <summary>
    /// Runs the blocks not yet in <paramref name="store"/> and returns the mask row by row; <paramref name="confidence"/>,
    /// when given, receives each block's core probabilities (the in-memory run's confidence before the hysteresis, which
    /// <see cref="BlockwiseConfidence"/> applies by making them agree with the final mask).
    /// </summary>
    /// <param name="source">The volume.</param>
    /// <param name="store">Where finished blocks are kept (a resumed run skips them).</param>
    /// <param name="masker">The one U-Net masker.</param>
    /// <param name="options">The run's options.</param>
    /// <param name="blockEdge">The core edge asked for (rounded up to the grid's step).</param>
    /// <param name="progress">Progress.</param>
    /// <param name="ct">Cancellation.</param>
    /// <param name="confidence">Receives each block's core probabilities, or null.</param>
    /// <param name="budget">The run's memory budget in bytes: the classical envelope's blocks get what the held volumes leave of it (1 GiB when null).</param>
    public static BlockwiseMask Run(IBlockSource source, IBlockStore store, UNetMasker masker, UNetMaskOptions options, int blockEdge, IProgress<ProgressReport>? progress = null, CancellationToken ct = default, Action<BlockRegion, Volume<float>>? confidence = null, long? budget = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(masker);
        options = (options ?? UNetMaskOptions.Default).Validate();
        var shape = source.Shape;

        // Normalisation from the sample (the whole volume up to 8 Mvox: then exactly the in-memory one).
        progress?.Report(new("measure normalisation on a sample", 0));
        var sample = VolumeSample.Read(source, ct);
        var normal = IntensityNormalizer.Normalize(sample, ct);
        var (low, high) = IntensityNormalization.Percentiles(normal.Normalized);

        // The envelope: the classical mask block by block (identical to in memory), grown and filled in memory.
        Volume<byte>? envelope = null, classicalCore = null, lost = null;
        long joined = 0;
        if (options.Envelope)
        {
            progress?.Report(new("tissue envelope (classical, block by block)", 0.05));
            var classical = TissueEnvelope.ClassicalOptions(options.StainedJoin);
            var plan = ClassicalBlockwise.Plan(source, classical, ct);
            long envelopeBudget = budget is { } b ? b - UNetMemory.FixedBytes - (shape.Length * UNetMemory.EnvelopeHeldBytesPerVoxel) : 1L << 30;
            int edge = ClassicalBlockwise.BlockEdgeFor(Math.Max(envelopeBudget, 0), shape, plan, classical) ?? Math.Max(ClassicalMasker.Halo(plan, classical), ClassicalMasker.Alignment(plan, classical));
            var grid0 = ClassicalBlockwise.Grid(shape, plan, classical, edge);
            var valid = new BlockValidMap(shape, source.VoxelSize);
            var blocks = ClassicalBlockwise.Run(source, new MemoryBlockStore(), grid0, plan, classical, null, null, ct, valid.Add);
            (envelope, classicalCore, joined) = TissueEnvelope.FromClassical(blocks.ToVolume(), blocks.ResinKnown, valid.Volume, options.EnvelopeMargin, options.Core ? options.CoreDepth : null, options.StainedJoin ? source : null, ct);
            lost = NonBrainHysteresis.LostSections(valid.Volume); // lost sections are in no region of the hysteresis
        }

        int scale = options.Scale ?? WorkingScale.FromVoxelSize(source.VoxelSize, shape);
        var windows = masker.WindowOptions(options, scale);
        var geometry = Geometry(windows, options, shape, source.VoxelSize);
        var (step, before, after, planar) = geometry;
        var grid = Grid(shape, Math.Max(step, (blockEdge + step - 1) / step * step), geometry);
        // Every block goes the whole volume's way (section by section or as a volume), whatever its own depth.
        var blockOptions = options with { Scale = scale, Stack = planar ? StackMode.Sections : StackMode.Volume };
        var pass = BlockPass.Run(
            source,
            store,
            grid,
            (block, input) =>
            {
                var context = new UNetBlockContext(normal.Map, low, high, envelope is null ? null : VolumeRegions.Crop(envelope, block.Read, block.ReadSize),
                    classicalCore is null ? null : VolumeRegions.Crop(classicalCore, block.Read, block.ReadSize),
                    lost is null ? null : VolumeRegions.Crop(lost, block.Read, block.ReadSize));
                return masker.Run(input, blockOptions, context, null, ct).Result;
            },
            confidence is null ? null : (block, result) => confidence(block, block.CropCore(result.Confidence)),
            progress,
            0.1,
            0.9,
            ct);
        int skipped = pass.Skipped;

        var notes = new List<string>
        {
            $"block-wise U-Net: {grid.Count} blocks of {grid.BlockSize} with a halo of {before} before and {after} after (windows on the volume's grid)" + (skipped > 0 ? $", {skipped} finished earlier and resumed" : string.Empty),
        };
        if (joined > 0)
        {
            notes.Add(StainedAdmission.Note(joined, shape.Length));
        }
        if (options.Hysteresis > 0)
        {
            // The blocks hold coded masks (anchors marked); the non-brain regions are merged over all blocks.
            progress?.Report(new("hysteresis over the blocks", 0.9));
            var final = BlockComponents.Hysteresis(grid, b => store.Read(b, ct), null, ct);
            notes.Add($"hysteresis {options.Hysteresis}: non-brain regions merged over all blocks");
            return BlockwiseMask.FromBlocks(grid, final, source.VoxelSize, pass.Warnings, notes, skipped);
        }

        return BlockwiseMask.FromStore(grid, store, source.VoxelSize, pass.Warnings, notes, skipped);
    }
}

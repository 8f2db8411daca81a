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

    private static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;

    /// <summary>
    /// Runs the blocks not yet in <paramref name="store"/> and returns the mask row by row; <paramref name="confidence"/>,
    /// when given, receives each block's core probabilities (the in-memory run's confidence before the hysteresis, which
    /// <see cref="BlockwiseConfidence"/> applies by making them agree with the final mask).
    /// </summary>
    public static BlockwiseMask Run(IBlockSource source, IBlockStore store, UNetMasker masker, UNetMaskOptions options, int blockEdge, IProgress<ProgressReport>? progress = null, CancellationToken ct = default, Action<BlockRegion, Volume<float>>? confidence = null)
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
        var (low, high) = IntensityNormalization.Percentiles(normal.Normalized.Span);

        // The envelope: the classical mask block by block (identical to in memory), grown and filled in memory.
        Volume<byte>? envelope = null, classicalCore = null;
        long joined = 0;
        if (options.Envelope)
        {
            progress?.Report(new("tissue envelope (classical, block by block)", 0.05));
            var classical = TissueEnvelope.ClassicalOptions(options.StainedJoin);
            var plan = ClassicalBlockwise.Plan(source, classical, ct);
            int edge = ClassicalBlockwise.BlockEdgeFor(1L << 30, shape, plan, classical) ?? Math.Max(ClassicalMasker.Halo(plan, classical), ClassicalMasker.Alignment(plan, classical));
            var grid0 = ClassicalBlockwise.Grid(shape, plan, classical, edge);
            var valid = new BlockValidMap(shape, source.VoxelSize);
            var blocks = ClassicalBlockwise.Run(source, new MemoryBlockStore(), grid0, plan, classical, null, null, ct, valid.Add);
            (envelope, classicalCore, joined) = TissueEnvelope.FromClassical(blocks.ToVolume(), blocks.ResinKnown, valid.Volume, options.EnvelopeMargin, options.Core ? options.CoreDepth : null, options.StainedJoin ? source : null, ct);
        }

        int scale = options.Scale ?? WorkingScale.FromVoxelSize(source.VoxelSize, shape);
        var windows = masker.WindowOptions(options, scale);
        var (step, before, after, planar) = Geometry(windows, options, shape, source.VoxelSize);
        int core = Math.Max(step, (blockEdge + step - 1) / step * step);
        var cores = new Shape3(planar ? core : CoreAlong(shape.Z, core, after), CoreAlong(shape.Y, core, after), CoreAlong(shape.X, core, after));
        // A block at the volume's end reads at least one coarsest window, so its last window is the whole volume's.
        var grid = new BlockGrid(shape, cores, before, step, after, planar, minimumRead: after);
        // Every block goes the whole volume's way (section by section or as a volume), whatever its own depth.
        var blockOptions = options with { Scale = scale, Stack = planar ? StackMode.Sections : StackMode.Volume };
        var pass = BlockPass.Run(
            source,
            store,
            grid,
            (block, input) =>
            {
                var context = new UNetBlockContext(normal.Map, low, high, envelope is null ? null : VolumeRegions.Crop(envelope, block.Read, block.ReadSize),
                    classicalCore is null ? null : VolumeRegions.Crop(classicalCore, block.Read, block.ReadSize));
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

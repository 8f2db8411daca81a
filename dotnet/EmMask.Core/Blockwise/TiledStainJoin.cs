using EmMask.Core.Inference;
using EmMask.Core.Masking;
using EmMask.Core.Morphology;
using EmMask.Core.Progress;
using EmMask.Core.Volumes;

namespace EmMask.Core.Blockwise;

/// <summary>
/// Stained regions touching the mask join it in a section masked in tiles (<see cref="ClassicalBlockwise"/>: a volume of
/// one section too large to mask whole in 2D mode), as a whole section does in memory (<see cref="StainedAdmission"/>
/// with the mask as its own envelope), after the global steps, tile by tile:
/// <list type="number">
/// <item>the final mask and the valid voxels are held for the whole section (1 byte per voxel each);</item>
/// <item>the stain rule's reference is measured on the smoothed, normalised image at the voxels a whole section samples
/// (every k-th valid voxel in the section's scan order), each tile read with <see cref="Halo"/> voxels of context;</item>
/// <item>each tile's stained voxels outside the mask, opened, are found again the same way (1 byte per voxel);</item>
/// <item>their regions are merged across tiles (<see cref="BlockComponents.FlaggedRegions"/>), and those of at least
/// <see cref="StainedAdmission.MinimumVoxels"/> voxels that touch the mask join it.</item>
/// </list>
/// The tile's normalisation is the plan's, so where the plan's intensity map is the section's own (a sample that is the
/// whole section) the join is the in-memory one voxel for voxel.
/// </summary>
internal static class TiledStainJoin
{
    /// <summary>Context (voxels, in-plane) a tile is read with: the smoothing's kernel (8) and the opening's reach (4), rounded up.</summary>
    public const int Halo = 16;

    /// <summary>Bytes per voxel of the section this step holds beside the writer's layers (the final mask, joined in place).</summary>
    public const int HeldBytesPerVoxel = 1;

    /// <summary>Whether a run joins stained regions tile by tile: a tiled section (a one-section volume under a 3D plan) of a run not asked for 3D, as in memory (2D mode, sections of at least 128², <c>stain_join</c> on).</summary>
    public static bool Applies(Shape3 shape, ClassicalPlan plan, ClassicalMaskOptions options) =>
        shape.Z == 1 && plan.Volume is not null && options.Mode != MaskingMode.ThreeD && options.StainJoin > 0 && TissueEnvelope.TrustsKnownResin(shape);

    /// <summary>
    /// The section's final mask with the stained regions joined, and the voxels joined.
    /// </summary>
    /// <param name="source">The section (a volume of one section).</param>
    /// <param name="grid">Its tiles.</param>
    /// <param name="plan">The tiled plan (its intensity map normalises each tile).</param>
    /// <param name="score">The stain score above which a voxel is stained (<c>stain_join</c>).</param>
    /// <param name="final">Each tile's final mask (0/1) after the global steps.</param>
    /// <param name="pre">Each tile's stored pre-mask (padding and NaN coded <see cref="ClassicalMasker.InvalidCode"/>).</param>
    /// <param name="progress">Stage and fraction.</param>
    /// <param name="ct">Cancels the work.</param>
    public static (Volume<byte> Mask, long Joined) Run(IBlockSource source, BlockGrid grid, ClassicalPlan plan, double score, Func<BlockRegion, Volume<byte>> final, Func<BlockRegion, Volume<byte>> pre, IProgress<ProgressReport>? progress, CancellationToken ct)
    {
        var shape = grid.Shape;
        var mask = new Volume<byte>(shape, source.VoxelSize);
        var valid = new Volume<byte>(shape, source.VoxelSize);
        foreach (var block in grid.Blocks())
        {
            ct.ThrowIfCancellationRequested();
            VolumeRegions.Paste(final(block), mask, block.Core);
            var codes = pre(block).Span;
            var ok = new Volume<byte>(block.CoreSize);
            var v = ok.Span;
            for (int i = 0; i < v.Length; i++)
            {
                v[i] = codes[i] == ClassicalMasker.InvalidCode ? (byte)0 : (byte)1;
            }

            VolumeRegions.Paste(ok, valid, block.Core);
        }

        progress?.Report(new("stained regions: reference", 0.2));
        if (Reference(source, grid, plan, mask, valid, ct) is not { } reference)
        {
            return (mask, 0);
        }

        progress?.Report(new("stained regions: tiles", 0.5));
        var stained = new Volume<byte>(shape);
        foreach (var block in grid.Blocks())
        {
            ct.ThrowIfCancellationRequested();
            var (at, size) = Read(block, shape);
            var smoothed = Smoothed(source, at, size, plan, ct);
            var m = VolumeRegions.Crop(mask, at, size).Span;
            var ok = VolumeRegions.Crop(valid, at, size).Span;
            var candidate = new Volume<byte>(size);
            var c = candidate.Span;
            var s = smoothed.Span;
            for (int i = 0; i < c.Length; i++)
            {
                c[i] = (byte)(ok[i] != 0 && m[i] == 0 && StainedAdmission.IsStained(reference, s[i], score) ? 1 : 0);
            }

            MaskMorphology.Open(candidate, StainedAdmission.OpeningRadius, perSlice: true, ct);
            var core = VolumeRegions.Crop(candidate, (0, block.Core.Y - at.Y, block.Core.X - at.X), block.CoreSize);
            VolumeRegions.Paste(core, stained, block.Core);
        }

        progress?.Report(new("stained regions: join", 0.8));
        long joined = 0;
        BlockComponents.FlaggedRegions(
            grid,
            block => (VolumeRegions.Crop(stained, block.Core, block.CoreSize), Touching(stained, mask, block)),
            StainedAdmission.MinimumVoxels,
            (block, chosen) =>
            {
                var j = chosen.Span;
                for (int y = 0; y < block.CoreSize.Y; y++)
                {
                    var row = mask.Row(0, block.Core.Y + y).Slice(block.Core.X, block.CoreSize.X);
                    var from = j.Slice(y * block.CoreSize.X, block.CoreSize.X);
                    for (int x = 0; x < row.Length; x++)
                    {
                        if (from[x] != 0 && row[x] == 0)
                        {
                            row[x] = 1;
                            joined++;
                        }
                    }
                }
            },
            ct);
        return (mask, joined);
    }

    // A tile's read region: its core and Halo voxels around it in-plane, within the section.
    private static ((int Z, int Y, int X) At, Shape3 Size) Read(BlockRegion block, Shape3 shape)
    {
        int y0 = Math.Max(0, block.Core.Y - Halo), x0 = Math.Max(0, block.Core.X - Halo);
        int y1 = Math.Min(shape.Y, block.Core.Y + block.CoreSize.Y + Halo), x1 = Math.Min(shape.X, block.Core.X + block.CoreSize.X + Halo);
        return ((0, y0, x0), new Shape3(1, y1 - y0, x1 - x0));
    }

    // The region normalised by the plan and smoothed as StainedAdmission smooths a section. Both passes smooth each
    // tile again rather than hold the section's smoothed image (4 bytes per voxel).
    private static Volume<float> Smoothed(IBlockSource source, (int Z, int Y, int X) at, Shape3 size, ClassicalPlan plan, CancellationToken ct) =>
        StainedAdmission.Smoothed(IntensityNormalizer.Normalize(source.Read(at, size, ct), plan.Intensity, ct).Normalized, new byte[size.Length], ct);

    // The reference at the voxels a whole section samples: every step-th valid voxel in the section's scan order.
    private static StainRule.Reference? Reference(IBlockSource source, BlockGrid grid, ClassicalPlan plan, Volume<byte> mask, Volume<byte> valid, CancellationToken ct)
    {
        var shape = grid.Shape;
        var before = new long[shape.Y + 1]; // valid voxels in the rows above each row
        for (int y = 0; y < shape.Y; y++)
        {
            before[y + 1] = before[y] + valid.Row(0, y).Count((byte)1);
        }

        int step = Math.Max(1, (int)(before[shape.Y] / StainRule.SampleLimit));
        var tissue = new List<float>();
        var resin = new List<float>();
        foreach (var block in grid.Blocks())
        {
            ct.ThrowIfCancellationRequested();
            var (at, size) = Read(block, shape);
            var smoothed = Smoothed(source, at, size, plan, ct);
            for (int y = 0; y < block.CoreSize.Y; y++)
            {
                int gy = block.Core.Y + y;
                var ok = valid.Row(0, gy);
                var m = mask.Row(0, gy);
                var s = smoothed.Row(0, gy - at.Y);
                long seen = before[gy] + ok[..block.Core.X].Count((byte)1);
                for (int x = block.Core.X; x < block.Core.X + block.CoreSize.X; x++)
                {
                    if (ok[x] == 0)
                    {
                        continue;
                    }

                    if (seen++ % step == 0)
                    {
                        (m[x] != 0 ? tissue : resin).Add(s[x - at.X]);
                    }
                }
            }
        }

        return StainRule.FromClasses(tissue, resin, tissue.Count + resin.Count);
    }

    // A tile's stained voxels with a 4-neighbour in the mask (the section's, across tiles), coded as flags.
    private static Volume<byte> Touching(Volume<byte> stained, Volume<byte> mask, BlockRegion block)
    {
        var shape = mask.Shape;
        var flags = new Volume<byte>(block.CoreSize);
        for (int y = 0; y < block.CoreSize.Y; y++)
        {
            int gy = block.Core.Y + y;
            var s = stained.Row(0, gy);
            var m = mask.Row(0, gy);
            var up = gy > 0 ? mask.Row(0, gy - 1) : default;
            var down = gy + 1 < shape.Y ? mask.Row(0, gy + 1) : default;
            var f = flags.Row(0, y);
            for (int x = 0; x < block.CoreSize.X; x++)
            {
                int gx = block.Core.X + x;
                if (s[gx] != 0 && ((gx > 0 && m[gx - 1] != 0) || (gx + 1 < shape.X && m[gx + 1] != 0) || (!up.IsEmpty && up[gx] != 0) || (!down.IsEmpty && down[gx] != 0)))
                {
                    f[x] = NonBrainHysteresis.AnchorCode;
                }
            }
        }

        return flags;
    }
}

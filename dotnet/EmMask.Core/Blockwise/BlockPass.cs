using EmMask.Core.Masking;
using EmMask.Core.Progress;
using EmMask.Core.Volumes;

namespace EmMask.Core.Blockwise;

/// <summary>
/// One pass over a grid, the same for every method: blocks already in the store are skipped (resume), each other block
/// is read with its halo, masked, and its core written to the store; warnings are kept once each.
/// </summary>
public static class BlockPass
{
    /// <summary>What a pass did.</summary>
    /// <param name="Skipped">Blocks an earlier run had finished.</param>
    /// <param name="Warnings">The blocks' warnings, each once.</param>
    public sealed record Outcome(int Skipped, IReadOnlyList<string> Warnings);

    /// <summary>Runs <paramref name="mask"/> on every unfinished block; progress goes from <paramref name="start"/> by <paramref name="span"/>.</summary>
    /// <param name="source">The volume.</param>
    /// <param name="store">Finished blocks.</param>
    /// <param name="grid">The blocks.</param>
    /// <param name="mask">Masks a block's read region (the block and its input).</param>
    /// <param name="after">Also gets each block's result (e.g. to keep its confidence), or null.</param>
    /// <param name="progress">Stage and fraction.</param>
    /// <param name="start">Progress fraction at the first block.</param>
    /// <param name="span">Progress fraction the pass covers.</param>
    /// <param name="ct">Cancels between and inside blocks; finished blocks stay.</param>
    public static Outcome Run(
        IBlockSource source, IBlockStore store, BlockGrid grid, Func<BlockRegion, IVolume, MaskResult> mask,
        Action<BlockRegion, MaskResult>? after, IProgress<ProgressReport>? progress, double start, double span, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(grid);
        ArgumentNullException.ThrowIfNull(mask);
        int done = 0, skipped = 0;
        var warnings = new List<string>();
        foreach (var block in grid.Blocks())
        {
            ct.ThrowIfCancellationRequested();
            if (store.IsDone(block))
            {
                skipped++;
            }
            else
            {
                Masked(source, store, block, mask, after, warnings, ct);
                GC.Collect(); // the next block reuses the memory instead of growing the heap past the budget
            }

            done++;
            progress?.Report(new($"block {done}/{grid.Count}", start + (span * done / grid.Count)));
        }

        return new Outcome(skipped, warnings);
    }

    // In its own frame, so the block's input and result are garbage before the collection that follows.
    private static void Masked(IBlockSource source, IBlockStore store, BlockRegion block, Func<BlockRegion, IVolume, MaskResult> mask, Action<BlockRegion, MaskResult>? after, List<string> warnings, CancellationToken ct)
    {
        var result = mask(block, source.Read(block.Read, block.ReadSize, ct));
        warnings.AddRange(result.Warnings.Where(w => !warnings.Contains(w, StringComparer.Ordinal)));
        store.Write(block, block.CropCore(result.Mask), ct);
        after?.Invoke(block, result);
    }
}

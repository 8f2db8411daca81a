using EmMask.Core.Masking;
using EmMask.Core.Volumes;

namespace EmMask.Core.Blockwise;

/// <summary>
/// The confidence map (float32, 0..1) of a block-wise run, row by row for a streaming writer, as the in-memory run
/// writes it: each block's core confidence as its method gave it (kept in an <see cref="IConfidenceStore"/> while the
/// blocks ran), made to agree with the block's final mask (mask = confidence ≥ 0.5: a tissue voxel below 0.5 is raised
/// to 0.5, a non-brain voxel at 0.5 or more lowered to 0.4999), so the global steps (hole filling, small regions, the
/// U-Net's hysteresis) show in it as they do in memory. The mask it agrees with is the method's, before
/// post-processing: in memory, post-processing changes the mask only. Memory: at most two layers of blocks (one block
/// deep, all of y and x) of float32 (<see cref="ClassicalBlockwise.ConfidenceLayerBytes"/>).
/// </summary>
public sealed class BlockwiseConfidence : IRowSource<float>
{
    private readonly BlockRows<float> rows;

    /// <summary>The confidence of <paramref name="mask"/>'s blocks, kept in <paramref name="store"/>.</summary>
    /// <param name="mask">The method's block-wise mask before post-processing (its <see cref="BlockwiseMask.Final"/> blocks).</param>
    /// <param name="store">Every block's core confidence (<see cref="Keeping"/>).</param>
    /// <param name="ct">Cancels the reads of the store.</param>
    public BlockwiseConfidence(BlockwiseMask mask, IConfidenceStore store, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(mask);
        ArgumentNullException.ThrowIfNull(store);
        rows = new BlockRows<float>(mask.Grid, block => Agreeing(store.ReadConfidence(block, ct), mask.Final(block)), mask.VoxelSize, BlockRows<float>.DefaultReach);
    }

    /// <inheritdoc/>
    public Shape3 Shape => rows.Shape;

    /// <inheritdoc/>
    public VoxelSize VoxelSize => rows.VoxelSize;

    /// <inheritdoc/>
    public void CopyRow(int z, int y, Span<float> destination) => rows.CopyRow(z, y, destination);

    /// <summary>
    /// The store a run with a confidence map masks into: a block counts as finished only when its mask and its
    /// confidence are both kept, so a resumed run redoes a block whose confidence is missing (killed between the two
    /// writes, or begun without a confidence map) and ends with the confidence an uninterrupted run writes.
    /// </summary>
    public static IBlockStore Keeping(IBlockStore masks, IConfidenceStore confidence)
    {
        ArgumentNullException.ThrowIfNull(masks);
        ArgumentNullException.ThrowIfNull(confidence);
        return new KeepingStore(masks, confidence);
    }

    private static Volume<float> Agreeing(Volume<float> confidence, Volume<byte> final)
    {
        if (confidence.Shape != final.Shape)
        {
            throw new InvalidOperationException($"A block's confidence has shape {confidence.Shape}, its mask {final.Shape}.");
        }

        ClassicalMasker.AgreeWithMask(final.Span, confidence.Span, default);
        return confidence;
    }

    private sealed class KeepingStore(IBlockStore masks, IConfidenceStore confidence) : IBlockStore
    {
        public bool IsDone(BlockRegion block) => masks.IsDone(block) && confidence.HasConfidence(block);

        public void Write(BlockRegion block, Volume<byte> core, CancellationToken ct) => masks.Write(block, core, ct);

        public Volume<byte> Read(BlockRegion block, CancellationToken ct) => masks.Read(block, ct);
    }
}

using EmMask.Core.Volumes;

namespace EmMask.Core.Blockwise;

/// <summary>
/// The valid-voxel map of a whole volume (0 padding or NaN, 1 elsewhere; <see cref="Masking.MaskResult.Valid"/>)
/// assembled from the cores of the blocks that hold padding, as <c>ClassicalBlockwise.Run</c>'s <c>valid</c> callback
/// hands them over. Null until a block holds padding.
/// </summary>
public sealed class BlockValidMap(Shape3 shape, VoxelSize voxelSize)
{
    private readonly object gate = new();

    /// <summary>The map, or null when no block held padding.</summary>
    public Volume<byte>? Volume { get; private set; }

    /// <summary>Pastes one block's core map (the callback's arguments).</summary>
    public void Add(BlockRegion block, Volume<byte> core)
    {
        ArgumentNullException.ThrowIfNull(block);
        ArgumentNullException.ThrowIfNull(core);
        lock (gate)
        {
            if (Volume is null)
            {
                Volume = new Volume<byte>(shape, voxelSize);
                Volume.Span.Fill(1);
            }

            VolumeRegions.Paste(core, Volume, block.Core);
        }
    }
}

using EmMask.Core.Volumes;

namespace EmMask.Core.Blockwise;

/// <summary>A volume that can be read region by region (a chunked HDF5 dataset, or an in-memory volume).</summary>
public interface IBlockSource
{
    /// <summary>The whole volume's shape.</summary>
    Shape3 Shape { get; }

    /// <summary>The voxel size.</summary>
    VoxelSize VoxelSize { get; }

    /// <summary>Reads one region.</summary>
    IVolume Read((int Z, int Y, int X) offset, Shape3 size, CancellationToken ct);
}

/// <summary>Where finished blocks go: one record per block, written whole or not at all.</summary>
public interface IBlockStore
{
    /// <summary>True when the block was finished (by this run or by an earlier one that is being resumed).</summary>
    bool IsDone(BlockRegion block);

    /// <summary>Stores a block's core (atomically: a half-written block is never done).</summary>
    void Write(BlockRegion block, Volume<byte> core, CancellationToken ct);

    /// <summary>Reads a finished block's core back.</summary>
    Volume<byte> Read(BlockRegion block, CancellationToken ct);
}

/// <summary>
/// Where a block-wise run keeps each finished block's core confidence (float32) beside its mask, for the confidence map
/// it writes at the end (<see cref="BlockwiseConfidence"/>); written whole or not at all, as the masks are.
/// </summary>
public interface IConfidenceStore
{
    /// <summary>True when the block's confidence was kept (by this run or by an earlier one that is being resumed).</summary>
    bool HasConfidence(BlockRegion block);

    /// <summary>Keeps a block's core confidence (atomically).</summary>
    void WriteConfidence(BlockRegion block, Volume<float> core, CancellationToken ct);

    /// <summary>Reads a block's core confidence back.</summary>
    Volume<float> ReadConfidence(BlockRegion block, CancellationToken ct);
}

/// <summary>An in-memory volume as a block source (tests, and volumes that are already loaded).</summary>
public sealed class VolumeBlockSource(IVolume volume) : IBlockSource
{
    /// <inheritdoc/>
    public Shape3 Shape => volume.Shape;

    /// <inheritdoc/>
    public VoxelSize VoxelSize => volume.VoxelSize;

    /// <inheritdoc/>
    public IVolume Read((int Z, int Y, int X) offset, Shape3 size, CancellationToken ct) => VolumeRegions.Crop(volume, offset, size);
}

/// <summary>Keeps blocks, and their confidence, in memory (tests).</summary>
public sealed class MemoryBlockStore : IBlockStore, IConfidenceStore
{
    private readonly Dictionary<string, Volume<byte>> blocks = [];
    private readonly Dictionary<string, Volume<float>> confidence = [];

    /// <inheritdoc/>
    public bool IsDone(BlockRegion block) => blocks.ContainsKey(block.Name);

    /// <inheritdoc/>
    public void Write(BlockRegion block, Volume<byte> core, CancellationToken ct) => blocks[block.Name] = core.Clone();

    /// <inheritdoc/>
    public Volume<byte> Read(BlockRegion block, CancellationToken ct) => blocks[block.Name].Clone();

    /// <inheritdoc/>
    public bool HasConfidence(BlockRegion block) => confidence.ContainsKey(block.Name);

    /// <inheritdoc/>
    public void WriteConfidence(BlockRegion block, Volume<float> core, CancellationToken ct) => confidence[block.Name] = core.Clone();

    /// <inheritdoc/>
    public Volume<float> ReadConfidence(BlockRegion block, CancellationToken ct) => confidence[block.Name].Clone();
}

/// <summary>A whole volume in memory as the store: each block's core is written into its place.</summary>
public sealed class VolumeRegionStore(Volume<byte> volume) : IBlockStore
{
    private readonly HashSet<(int, int, int)> done = [];

    /// <inheritdoc/>
    public bool IsDone(BlockRegion block) => done.Contains(block.Index);

    /// <inheritdoc/>
    public void Write(BlockRegion block, Volume<byte> core, CancellationToken ct)
    {
        VolumeRegions.Paste(core, volume, block.Core);
        done.Add(block.Index);
    }

    /// <inheritdoc/>
    public Volume<byte> Read(BlockRegion block, CancellationToken ct) => VolumeRegions.Crop(volume, block.Core, block.CoreSize);
}

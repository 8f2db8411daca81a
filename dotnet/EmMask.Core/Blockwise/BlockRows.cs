using EmMask.Core.Volumes;

namespace EmMask.Core.Blockwise;

/// <summary>
/// A volume stored as the cores of a <see cref="BlockGrid"/>, handed out row by row to a streaming writer: one layer of
/// blocks (one block row in z, all of y and x) is assembled on first use and kept while the writer may still come back
/// to it, so the whole volume is never held.
/// </summary>
/// <remarks>
/// Writers go through the volume in bands of a few sections (HDF5: one chunk deep) that can straddle two layers, so at
/// most two layers are held at once.
/// </remarks>
/// <typeparam name="T">The voxel type (uint8 masks, float32 confidence).</typeparam>
internal sealed class BlockRows<T> : IRowSource<T>
    where T : unmanaged
{
    /// <summary>How far back (sections) a writer may ask for rows again by default (HDF5 bands are 16 deep).</summary>
    public const int DefaultReach = 64;

    private readonly BlockGrid grid;
    private readonly Func<BlockRegion, Volume<T>> core;
    private readonly int reach;
    private readonly Dictionary<int, T[]> layers = [];
    private int furthest = -1;
    private int lowest;

    /// <param name="grid">The blocks.</param>
    /// <param name="core">A block's core as it is to be written (called once per block).</param>
    /// <param name="voxelSize">The voxel size.</param>
    /// <param name="reach">How far back (sections) the writer may ask for rows again.</param>
    public BlockRows(BlockGrid grid, Func<BlockRegion, Volume<T>> core, VoxelSize voxelSize, int reach)
    {
        this.grid = grid ?? throw new ArgumentNullException(nameof(grid));
        this.core = core ?? throw new ArgumentNullException(nameof(core));
        ArgumentOutOfRangeException.ThrowIfNegative(reach);
        this.reach = reach;
        VoxelSize = voxelSize;
    }

    /// <inheritdoc/>
    public Shape3 Shape => grid.Shape;

    /// <inheritdoc/>
    public VoxelSize VoxelSize { get; }

    /// <inheritdoc/>
    public void CopyRow(int z, int y, Span<T> destination)
    {
        int k = z / grid.BlockSize.Z;
        if (!layers.TryGetValue(k, out var rows))
        {
            if (k < lowest)
            {
                throw new InvalidOperationException($"Rows must be read with z at most {reach} sections behind the furthest asked for (asked for z = {z}).");
            }

            rows = Load(k);
            layers[k] = rows;
        }

        furthest = Math.Max(furthest, z);
        foreach (int old in layers.Keys.Where(l => (l + 1) * grid.BlockSize.Z <= furthest - reach).ToList())
        {
            layers.Remove(old);
            lowest = Math.Max(lowest, old + 1);
        }

        int local = z - (k * grid.BlockSize.Z);
        rows.AsSpan(((local * Shape.Y) + y) * Shape.X, Shape.X).CopyTo(destination);
    }

    private T[] Load(int k)
    {
        int depth = grid[k, 0, 0].CoreSize.Z;
        var rows = new T[(long)depth * Shape.Y * Shape.X];
        for (int j = 0; j < grid.Counts.Y; j++)
        {
            for (int i = 0; i < grid.Counts.X; i++)
            {
                var block = grid[k, j, i];
                var volume = core(block);
                var s = block.CoreSize;
                for (int z = 0; z < s.Z; z++)
                {
                    for (int y = 0; y < s.Y; y++)
                    {
                        volume.Row(z, y).CopyTo(rows.AsSpan((((z * Shape.Y) + block.Core.Y + y) * Shape.X) + block.Core.X, s.X));
                    }
                }
            }
        }

        return rows;
    }
}

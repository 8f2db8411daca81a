using EmMask.Core.Masking;
using EmMask.Core.PostProcessing;
using EmMask.Core.Progress;
using EmMask.Core.Volumes;

namespace EmMask.Core.Blockwise;

/// <summary>
/// A post-processing pipeline over a mask stored block by block, with the in-memory answer. Per-slice steps
/// (<c>open2d</c>, <c>close2d</c>, <c>fill2d</c>, and <c>fill</c> on thin stacks) run on whole layers of sections; 3D hole
/// filling and <c>largest</c> (6-connected) run through <see cref="BlockComponents"/>. Steps whose reach is a 3D
/// distance (<c>open3d</c>, <c>close3d</c>, <c>grow</c>, <c>erode</c>) are not available block-wise yet and are refused
/// before any work starts.
/// </summary>
public static class BlockPostProcessing
{
    /// <summary>Throws when the pipeline holds a step that cannot run block-wise (named, with what can).</summary>
    public static void Check(PostProcessPipeline pipeline)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        foreach (var op in pipeline.Operations)
        {
            bool ok = op switch
            {
                OpenOperation o => o.PerSlice,
                CloseOperation c => c.PerSlice,
                FillHolesOperation or FillHolesAutoOperation => true,
                KeepLargestOperation k => k.Connectivity == Labeling.Connectivity.Face,
                _ => false,
            };
            if (!ok)
            {
                throw new ArgumentException(
                    $"--postprocess step '{op.ToSpec()}' cannot run block-wise yet; block-wise runs take open2d, close2d, fill, fill2d, fill3d and largest (6-connected). " +
                    "Run it afterwards with 'emmask postprocess' on a volume that fits in memory, or leave it out.");
            }
        }
    }

    /// <summary>
    /// Applies <paramref name="pipeline"/> to the blocks <paramref name="read"/> returns; each step writes its blocks into
    /// a fresh store from <paramref name="storeFor"/> (step number from 1). Returns the reader of the last step's blocks.
    /// </summary>
    public static Func<BlockRegion, Volume<byte>> Apply(
        BlockGrid grid,
        Func<BlockRegion, Volume<byte>> read,
        PostProcessPipeline pipeline,
        VoxelSize voxelSize,
        Func<int, IBlockStore> storeFor,
        IProgress<ProgressReport>? progress = null,
        CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(grid);
        ArgumentNullException.ThrowIfNull(read);
        ArgumentNullException.ThrowIfNull(storeFor);
        Check(pipeline);
        var ops = pipeline.Operations;
        int step = 0;
        for (int i = 0; i < ops.Count;)
        {
            ct.ThrowIfCancellationRequested();
            var store = storeFor(++step);
            if (PerSlice(ops[i], grid.Shape, voxelSize))
            {
                var run = new List<IMaskOperation>();
                while (i < ops.Count && PerSlice(ops[i], grid.Shape, voxelSize))
                {
                    run.Add(ops[i++]);
                }

                Layers(grid, read, run, voxelSize, store, ct);
            }
            else
            {
                var op = ops[i++];
                var components = op is KeepLargestOperation largest
                    ? BlockComponents.Measure(grid, read, fillHoles: false, 0, largest.Count, null, ct)
                    : BlockComponents.Measure(grid, read, fillHoles: true, 0, null, null, ct);
                foreach (var block in grid.Blocks())
                {
                    store.Write(block, components.Final(block, ct), ct);
                }
            }

            progress?.Report(new($"post-process step {step}", (double)i / ops.Count));
            var done = store;
            read = block => done.Read(block, ct);
        }

        return read;
    }

    private static bool PerSlice(IMaskOperation op, Shape3 shape, VoxelSize voxelSize) => op switch
    {
        OpenOperation o => o.PerSlice,
        CloseOperation c => c.PerSlice,
        FillHolesOperation f => f.PerSlice,
        FillHolesAutoOperation => MaskingModes.Resolve(MaskingMode.Auto, shape, voxelSize) == MaskingMode.TwoD,
        _ => false,
    };

    // Per-slice steps on whole layers of sections (one block row in z), split back into blocks.
    private static void Layers(BlockGrid grid, Func<BlockRegion, Volume<byte>> read, List<IMaskOperation> run, VoxelSize voxelSize, IBlockStore store, CancellationToken ct)
    {
        var shape = grid.Shape;
        for (int k = 0; k < grid.Counts.Z; k++)
        {
            int depth = grid[k, 0, 0].CoreSize.Z;
            var layer = new Volume<byte>(new Shape3(depth, shape.Y, shape.X), voxelSize);
            var blocks = Enumerable.Range(0, grid.Counts.Y).SelectMany(j => Enumerable.Range(0, grid.Counts.X).Select(i => grid[k, j, i])).ToList();
            foreach (var block in blocks)
            {
                var core = read(block);
                for (int z = 0; z < depth; z++)
                {
                    for (int y = 0; y < block.CoreSize.Y; y++)
                    {
                        var row = core.Row(z, y);
                        var target = layer.Row(z, block.Core.Y + y).Slice(block.Core.X, block.CoreSize.X);
                        for (int x = 0; x < row.Length; x++)
                        {
                            target[x] = row[x] == 1 ? (byte)1 : (byte)0; // padding codes are non-brain from here on
                        }
                    }
                }
            }

            foreach (var op in run)
            {
                if (op is FillHolesAutoOperation)
                {
                    new FillHolesOperation(PerSlice: true).Apply(layer, ct);
                }
                else
                {
                    op.Apply(layer, ct);
                }
            }

            foreach (var block in blocks)
            {
                var core = new Volume<byte>(block.CoreSize, voxelSize);
                for (int z = 0; z < depth; z++)
                {
                    for (int y = 0; y < block.CoreSize.Y; y++)
                    {
                        layer.Row(z, block.Core.Y + y).Slice(block.Core.X, block.CoreSize.X).CopyTo(core.Row(z, y));
                    }
                }

                store.Write(block, core, ct);
            }
        }
    }
}

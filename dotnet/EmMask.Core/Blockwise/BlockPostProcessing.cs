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
    /// Throws unless every step works section by section on a volume of <paramref name="shape"/> (a stack masked section
    /// by section applies the pipeline to each section on its own: <c>open2d</c>, <c>close2d</c>, <c>fill2d</c>, and
    /// <c>fill</c> where it fills per section).
    /// </summary>
    /// <exception cref="ArgumentException">A step that reaches across sections (named).</exception>
    public static void CheckPerSlice(PostProcessPipeline pipeline, Shape3 shape, VoxelSize voxelSize)
    {
        Check(pipeline);
        foreach (var op in pipeline.Operations.Where(op => !PerSlice(op, shape, voxelSize)))
        {
            throw new ArgumentException(
                $"--postprocess step '{op.ToSpec()}' reaches across sections, but this stack is masked section by section (each section is tiled on its own); " +
                "use the per-section steps open2d, close2d, fill2d, or give a --max-memory that holds one section.");
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
        var stages = Stages(pipeline, grid.Shape, voxelSize);
        int step = 0;
        foreach (var stage in stages)
        {
            ct.ThrowIfCancellationRequested();
            var store = storeFor(++step);
            if (stage.Slices is { } run)
            {
                Layers(grid, read, [.. run.Operations], voxelSize, store, ct);
            }
            else
            {
                var components = BlockComponents.Measure(grid, read, fillHoles: stage.KeepLargest is null, 0, stage.KeepLargest, null, ct);
                foreach (var block in grid.Blocks())
                {
                    store.Write(block, components.Final(block, ct), ct);
                }
            }

            progress?.Report(new($"post-process step {step}", (double)step / stages.Count));
            var done = store;
            read = block => done.Read(block, ct);
        }

        return read;
    }

    /// <summary>
    /// The pipeline as block-wise stages, in order: runs of per-slice steps (<c>fill</c> on a thin stack becomes
    /// <c>fill2d</c>), which work on whole sections, and single global steps: 3D hole filling, or keeping the largest
    /// components. Every block-wise runner (the CLI's executor, Dask) goes through these stages.
    /// </summary>
    /// <exception cref="ArgumentException">A step that cannot run block-wise (<see cref="Check"/>).</exception>
    public static IReadOnlyList<BlockStage> Stages(PostProcessPipeline pipeline, Shape3 shape, VoxelSize voxelSize)
    {
        Check(pipeline);
        var ops = pipeline.Operations;
        var stages = new List<BlockStage>();
        for (int i = 0; i < ops.Count;)
        {
            if (PerSlice(ops[i], shape, voxelSize))
            {
                var run = new List<IMaskOperation>();
                while (i < ops.Count && PerSlice(ops[i], shape, voxelSize))
                {
                    run.Add(ops[i] is FillHolesAutoOperation ? new FillHolesOperation(PerSlice: true) : ops[i]);
                    i++;
                }

                stages.Add(new BlockStage(new PostProcessPipeline(run), null));
            }
            else
            {
                stages.Add(new BlockStage(null, ops[i] is KeepLargestOperation largest ? largest.Count : null));
                i++;
            }
        }

        return stages;
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
                op.Apply(layer, ct);
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

/// <summary>
/// One block-wise post-processing stage: per-slice steps on whole sections (<see cref="Slices"/>), or a global step over
/// merged components: 3D hole filling when <see cref="KeepLargest"/> is null, else keeping that many largest components.
/// </summary>
/// <param name="Slices">The per-slice steps, or null for a global step.</param>
/// <param name="KeepLargest">Components kept by a <c>largest</c> step; null for hole filling (or a per-slice stage).</param>
public sealed record BlockStage(PostProcessPipeline? Slices, int? KeepLargest);

using EmMask.Core.Blockwise;
using EmMask.Core.Masking;
using EmMask.Core.Phantom;
using EmMask.Core.Volumes;

namespace EmMask.Core.Tests.Blockwise;

/// <summary>The confidence map of a block-wise run (<see cref="BlockwiseConfidence"/>) against the in-memory run's, and across a resume.</summary>
public class BlockwiseConfidenceTests
{
    // Small blocks at level 0, as ClassicalBlockwiseTests' store tests: the trachea rule and the refinement off.
    private static readonly ClassicalMaskOptions SmallHalo = ClassicalMaskOptions.Default with
    {
        Mode = MaskingMode.ThreeD, Level = 0, TracheaGap = 0, RefineBoundary = false,
    };

    [Fact]
    public void BesidePaddingTheConfidenceIsTheInMemoryOne()
    {
        // The right 40 columns exact-zero padding: in memory its confidence is 0 and the rest agrees with the filled mask;
        // block by block each block's padding is set to 0 (ClassicalBlockwise.CoreConfidence) and the rest agrees with
        // the final mask (the global steps), so the two maps are the same voxel for voxel (the blocks' confidence is the
        // whole volume's under the same plan: ClassicalBlockwiseTests' in-memory path compares it exactly too).
        var raw = EmPhantom.Generate(new PhantomOptions { Seed = 17, Shape = new Shape3(64, 96, 128) }).Raw;
        for (int z = 0; z < raw.Shape.Z; z++)
        {
            for (int y = 0; y < raw.Shape.Y; y++)
            {
                raw.Row(z, y)[88..].Clear();
            }
        }

        var expected = ClassicalMasker.Run(raw, SmallHalo);
        var (mask, confidence) = Blockwise(raw, new MemoryBlockStore());
        Assert.Equal(expected.Mask.Span.ToArray(), mask.ToVolume().Span.ToArray());
        var actual = Read(confidence);
        Assert.Equal(expected.Confidence.Span.ToArray(), actual.Span.ToArray());
        Assert.All(Enumerable.Range(0, raw.Shape.Z), z => Assert.True(actual[z, 50, 100] == 0, $"padding at z = {z} has confidence {actual[z, 50, 100]}"));
    }

    [Fact]
    public void AResumedRunGivesTheUninterruptedConfidence()
    {
        var raw = EmPhantom.Generate(new PhantomOptions { Seed = 10, Shape = new Shape3(64, 96, 96) }).Raw;
        var expected = Read(Blockwise(raw, new MemoryBlockStore()).Confidence);

        var store = new MemoryBlockStore();
        using var cancel = new CancellationTokenSource();
        var stop = new StopAfter("block 3/", cancel);
        Assert.ThrowsAny<OperationCanceledException>(() => Blockwise(raw, store, stop, cancel.Token));
        Assert.Equal(3, Grid(raw).Blocks().Count(store.HasConfidence));
        var (mask, confidence) = Blockwise(raw, store);
        Assert.Equal(3, mask.Resumed);
        Assert.Equal(expected.Span.ToArray(), Read(confidence).Span.ToArray());
    }

    [Fact]
    public void ResumingWithAConfidenceMapRedoesTheBlocksFinishedWithoutOne()
    {
        // An earlier run without a confidence map (a plain store) finished 3 blocks: they hold no confidence, so the
        // resumed run with one counts them unfinished and masks them again.
        var raw = EmPhantom.Generate(new PhantomOptions { Seed = 10, Shape = new Shape3(64, 96, 96) }).Raw;
        var expected = Read(Blockwise(raw, new MemoryBlockStore()).Confidence);
        var options = SmallHalo;
        var source = new VolumeBlockSource(raw);
        var plan = ClassicalBlockwise.Plan(source, options);
        var store = new MemoryBlockStore();
        using var cancel = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() => ClassicalBlockwise.Run(source, store, Grid(raw), plan, options, new StopAfter("block 3/", cancel), cancel.Token));
        Assert.Equal(3, Grid(raw).Blocks().Count(store.IsDone));

        var (mask, confidence) = Blockwise(raw, store);
        Assert.Equal(0, mask.Resumed);
        Assert.Equal(expected.Span.ToArray(), Read(confidence).Span.ToArray());
    }

    private static BlockGrid Grid(Volume<byte> raw) =>
        ClassicalBlockwise.Grid(raw.Shape, ClassicalBlockwise.Plan(new VolumeBlockSource(raw), SmallHalo), SmallHalo, 32);

    // A block-wise run that keeps its confidence in the store, as BlockwiseFileMasker runs one.
    private static (BlockwiseMask Mask, BlockwiseConfidence Confidence) Blockwise(Volume<byte> raw, MemoryBlockStore store, IProgress<Progress.ProgressReport>? progress = null, CancellationToken ct = default)
    {
        var source = new VolumeBlockSource(raw);
        var plan = ClassicalBlockwise.Plan(source, SmallHalo);
        var grid = ClassicalBlockwise.Grid(raw.Shape, plan, SmallHalo, 32);
        Assert.True(grid.Count > 4, $"{grid.Count} blocks");
        var mask = ClassicalBlockwise.Run(source, BlockwiseConfidence.Keeping(store, store), grid, plan, SmallHalo, (block, core) => store.WriteConfidence(block, core, ct), progress, ct);
        return (mask, new BlockwiseConfidence(mask, store));
    }

    // Reads the rows in a streaming writer's order (bands of 16 sections, 16 rows high).
    private static Volume<float> Read(IRowSource<float> rows)
    {
        var shape = rows.Shape;
        var volume = new Volume<float>(shape);
        for (int z0 = 0; z0 < shape.Z; z0 += 16)
        {
            for (int y0 = 0; y0 < shape.Y; y0 += 16)
            {
                for (int z = z0; z < Math.Min(z0 + 16, shape.Z); z++)
                {
                    for (int y = y0; y < Math.Min(y0 + 16, shape.Y); y++)
                    {
                        rows.CopyRow(z, y, volume.Row(z, y));
                    }
                }
            }
        }

        return volume;
    }

    // Cancels once the stage starting with the prefix is reported (BlockPass reports "block k/n" after block k).
    private sealed class StopAfter(string prefix, CancellationTokenSource cancel) : IProgress<Progress.ProgressReport>
    {
        public void Report(Progress.ProgressReport value)
        {
            if (value.Stage.StartsWith(prefix, StringComparison.Ordinal))
            {
                cancel.Cancel();
            }
        }
    }
}

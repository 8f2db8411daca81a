using EmMask.Core.Blockwise;
using EmMask.Core.Labeling;
using EmMask.Core.Masking;
using EmMask.Core.Morphology;
using EmMask.Core.Volumes;

namespace EmMask.Core.Tests.Blockwise;

/// <summary>Hole filling and small-region removal over stored blocks give the in-memory answer.</summary>
public class BlockComponentsTests
{
    [Theory]
    [InlineData(1, 0.55, 16)]
    [InlineData(2, 0.45, 8)]
    [InlineData(3, 0.62, 13)]
    [InlineData(4, 0.35, 32)]
    public void MatchesInMemoryFillAndRegionRemovalOnRandomMasks(int seed, double density, int edge)
    {
        var shape = new Shape3(30, 37, 41);
        var pre = RandomPreMask(shape, seed, density);
        var expected = InMemory(pre, 20);
        var grid = new BlockGrid(shape, new Shape3(edge, edge, edge), 0);
        var actual = Blockwise(pre, grid, 20);
        Assert.Equal(expected.Span.ToArray(), actual.Span.ToArray());
    }

    [Theory]
    [InlineData(5, 0.5, 10)]
    [InlineData(6, 0.3, 7)]
    public void TablesHandedToWorkersGiveTheSameMaskEvenWithEmptyBlocks(int seed, double density, int edge)
    {
        var shape = new Shape3(30, 37, 41);
        var pre = RandomPreMask(shape, seed, density);
        for (int z = 0; z < 12; z++)
        {
            for (int y = 0; y < shape.Y; y++)
            {
                pre.Row(z, y).Fill(z < 6 ? (byte)0 : (byte)1); // whole blocks without tissue, then without background
            }
        }

        var expected = InMemory(pre, 20);
        var grid = new BlockGrid(shape, new Shape3(edge, edge, edge), 0);
        var source = new VolumeBlockSource(pre);
        Volume<byte> Core(BlockRegion b) => (Volume<byte>)source.Read(b.Core, b.CoreSize, default);
        var builder = new BlockComponents.Builder(grid, 20);
        foreach (var block in grid.Blocks())
        {
            builder.AddHoles(block, Core(block));
        }

        foreach (var block in grid.Blocks())
        {
            builder.AddRegions(block, Core(block));
        }

        var built = builder.Build();
        var actual = new Volume<byte>(shape);
        foreach (var block in grid.Blocks())
        {
            var (holes, keep) = built.Tables(block);
            VolumeRegions.Paste(BlockComponents.FinalFromTables(Core(block), holes, keep), actual, block.Core);
        }

        Assert.Equal(expected.Span.ToArray(), actual.Span.ToArray());
    }

    [Fact]
    public void AHoleSpanningFourBlocksIsFilledAndARegionSplitByBlocksIsKept()
    {
        var shape = new Shape3(20, 20, 20);
        var pre = new Volume<byte>(shape);
        for (int z = 2; z < 18; z++)
        {
            for (int y = 2; y < 18; y++)
            {
                for (int x = 2; x < 18; x++)
                {
                    bool shell = z < 4 || z > 15 || y < 4 || y > 15 || x < 4 || x > 15;
                    pre[z, y, x] = shell ? (byte)1 : (byte)0;
                }
            }
        }

        pre[10, 10, 10] = ClassicalMasker.InvalidCode; // padding inside: filled for the counts, non-brain in the end
        var grid = new BlockGrid(shape, new Shape3(10, 10, 10), 0);
        var mask = Blockwise(pre, grid, 16 * 16 * 16);
        Assert.Equal(1, mask[10, 5, 5]); // the hole across all eight blocks is filled
        Assert.Equal(0, mask[10, 10, 10]);
        Assert.Equal(0, mask[0, 0, 0]);

        // Each block holds less than the minimum, the whole shell more: kept.
        Assert.Equal(16L * 16 * 16 - 1, mask.Span.ToArray().Sum(b => (long)b));
        var removed = Blockwise(pre, grid, (16 * 16 * 16) + 1);
        Assert.Equal(0L, removed.Span.ToArray().Sum(b => (long)b));
    }

    internal static Volume<byte> RandomPreMask(Shape3 shape, int seed, double density)
    {
        var random = new Random(seed);
        var pre = new Volume<byte>(shape);
        var s = pre.Span;
        for (int i = 0; i < s.Length; i++)
        {
            double r = random.NextDouble();
            s[i] = r < density ? (byte)1 : r < density + 0.03 ? ClassicalMasker.InvalidCode : (byte)0;
        }

        return pre;
    }

    // The in-memory order: fill holes (3D), remove small regions (6-connected), padding → 0.
    private static Volume<byte> InMemory(Volume<byte> pre, long minimum)
    {
        var mask = pre.Clone();
        var m = mask.Span;
        for (int i = 0; i < m.Length; i++)
        {
            m[i] = m[i] == 1 ? (byte)1 : (byte)0;
        }

        MaskMorphology.FillHoles(mask, perSlice: false);
        MaskMorphology.RemoveSmallRegions(mask, minimum, Connectivity.Face);
        var p = pre.Span;
        for (int i = 0; i < m.Length; i++)
        {
            if (p[i] == ClassicalMasker.InvalidCode)
            {
                m[i] = 0;
            }
        }

        return mask;
    }

    private static Volume<byte> Blockwise(Volume<byte> pre, BlockGrid grid, long minimum)
    {
        var store = new MemoryBlockStore();
        foreach (var block in grid.Blocks())
        {
            store.Write(block, block.CropCore(new VolumeBlockSource(pre).Read(block.Read, block.ReadSize, default) as Volume<byte> ?? throw new InvalidOperationException()), default);
        }

        var components = BlockComponents.Measure(grid, store, minimum);
        var result = new Volume<byte>(pre.Shape);
        foreach (var block in grid.Blocks())
        {
            var core = components.Final(block);
            for (int z = 0; z < block.CoreSize.Z; z++)
            {
                for (int y = 0; y < block.CoreSize.Y; y++)
                {
                    core.Row(z, y).CopyTo(result.Row(block.Core.Z + z, block.Core.Y + y).Slice(block.Core.X, block.CoreSize.X));
                }
            }
        }

        return result;
    }
}

using EmMask.Core.Inference;
using EmMask.Core.Volumes;
using EmMask.Learning.Inference;

namespace EmMask.Learning.Tests.Inference;

/// <summary>
/// Without --block the block-wise U-Net sizes its blocks by the budget (UNetBlockwise.BlockEdgeFor): the largest core,
/// a multiple of the grid's step, whose estimated need (UNetMemory.BlockwiseBytes) fits. Until 2026-12-07 the core was
/// 128 whatever the budget (128×384² under 1 GiB peaked at 1.2 GiB).
/// </summary>
public class UNetBlockBudgetTests
{
    private static readonly SlidingWindowOptions Windows = new(new Shape3(64, 64, 64));
    private static readonly UNetMaskOptions Options = new() { Hysteresis = 0 };

    [Theory]
    [InlineData(256, 1024, 1024, 8)] // a volume (isotropic)
    [InlineData(64, 2048, 2048, 40)] // serial sections: section by section, wider in-plane windows
    public void TheChosenCoreIsTheLargestStepThatFits(int depth, int height, int width, double zNm)
    {
        var shape = new Shape3(depth, height, width);
        var voxel = new VoxelSize(zNm, 8, 8);
        var (step, _, _, _) = UNetBlockwise.Geometry(Windows, Options, shape, voxel);
        long previous = 0;
        int previousEdge = 0;
        foreach (long budget in new[] { 4L << 30, 6L << 30, 8L << 30, 12L << 30 }) // the held volumes are 2 GiB
        {
            int edge = UNetBlockwise.BlockEdgeFor(budget, shape, voxel, Windows, Options, 3, out long need);
            Assert.Equal(0, edge % step);
            Assert.True(need <= budget, $"core {edge} needs {need} over the budget {budget}");
            // The next step would not fit (or the core already covers the volume).
            int larger = UNetBlockwise.BlockEdgeFor(long.MaxValue / 2, shape, voxel, Windows, Options, 3, out _);
            if (edge < larger)
            {
                Assert.True(Need(shape, voxel, edge + step) > budget, $"core {edge + step} would also fit {budget}");
            }

            Assert.True(edge >= previousEdge && need >= previous, "a larger budget gave a smaller block");
            (previous, previousEdge) = (need, edge);
        }

        Assert.True(previousEdge > step, "every budget gave the smallest block: nothing under test");
    }

    [Fact]
    public void UnderABudgetThatNothingFitsTheSmallestCoreComesWithItsNeed()
    {
        // The held volumes alone (8 bytes per voxel of 512×2048²) are 16 GiB: over a 4 GiB budget whatever the block.
        var shape = new Shape3(512, 2048, 2048);
        var (step, _, _, _) = UNetBlockwise.Geometry(Windows, Options, shape, VoxelSize.Isotropic);
        int edge = UNetBlockwise.BlockEdgeFor(4L << 30, shape, VoxelSize.Isotropic, Windows, Options, 3, out long need);
        Assert.Equal(step, edge);
        Assert.True(need > 16L << 30, $"need {need}");
    }

    [Fact]
    public void TheConfidenceMapsLayersMakeTheBlocksSmaller()
    {
        var shape = new Shape3(512, 2048, 2048);
        int plain = UNetBlockwise.BlockEdgeFor(24L << 30, shape, VoxelSize.Isotropic, Windows, Options, 3, out _);
        int withMap = UNetBlockwise.BlockEdgeFor(24L << 30, shape, VoxelSize.Isotropic, Windows, Options, 3 + 8, out _);
        Assert.True(withMap < plain, $"{withMap} against {plain}");
    }

    // The need of a core edge: the budget at which it is the answer.
    private static long Need(Shape3 shape, VoxelSize voxel, int edge)
    {
        long low = 0, high = long.MaxValue / 4;
        while (low < high)
        {
            long mid = low + ((high - low) / 2);
            if (UNetBlockwise.BlockEdgeFor(mid, shape, voxel, Windows, Options, 3, out _) >= edge)
            {
                high = mid;
            }
            else
            {
                low = mid + 1;
            }
        }

        return low;
    }
}

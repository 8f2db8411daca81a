using EmMask.Core.Blockwise;
using EmMask.Core.Volumes;

namespace EmMask.Core.Tests.Blockwise;

public class BlockGridTests
{
    [Fact]
    public void ReadRegionsHoldTheHalosWithinTheVolume()
    {
        var grid = new BlockGrid(new Shape3(10, 100, 100), new Shape3(48, 48, 48), 16, 16, 24);
        var last = grid[0, 2, 2];
        Assert.Equal((0, 96, 96), last.Core);
        Assert.Equal(new Shape3(10, 4, 4), last.CoreSize);
        Assert.Equal((0, 80, 80), last.Read); // 16 before; the volume ends 4 after the core
        Assert.Equal(new Shape3(10, 20, 20), last.ReadSize);
        var middle = grid[0, 1, 1];
        Assert.Equal((0, 32, 32), middle.Read);
        Assert.Equal(new Shape3(10, 68, 68), middle.ReadSize); // 16 before, and up to the volume's end (100)
    }

    [Fact]
    public void AReadEndingAtTheVolumesEndSpansTheMinimumFromAnAlignedStart()
    {
        // The last block along y and x reads 20 voxels with the halos alone; with a minimum of 64 its read starts at the
        // aligned 32 (100 − 64 = 36, rounded down to a multiple of 16), not at 36: a window grid of step 16 stays whole.
        var grid = new BlockGrid(new Shape3(10, 100, 100), new Shape3(48, 48, 48), 16, 16, 24, minimumRead: 64);
        var last = grid[0, 2, 2];
        Assert.Equal((0, 32, 32), last.Read);
        Assert.Equal(new Shape3(10, 68, 68), last.ReadSize);
        Assert.Equal((0, 96, 96), last.Core);
        Assert.Equal((0, 32, 32), grid[0, 1, 1].Read); // long enough already
        Assert.Equal(0, grid[0, 0, 0].Read.Y);
    }

    [Fact]
    public void APlanarGridReadsNoContextAlongZ()
    {
        var grid = new BlockGrid(new Shape3(100, 100, 100), new Shape3(48, 48, 48), 16, 16, 24, planar: true);
        var block = grid[1, 1, 1];
        Assert.Equal((48, 32, 32), block.Read);
        Assert.Equal(new Shape3(48, 68, 68), block.ReadSize);
        Assert.Equal(new Shape3(48, 88, 88), grid.LargestRead);
    }
}

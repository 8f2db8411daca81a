using EmMask.Core.Inference;
using EmMask.Core.Volumes;

namespace EmMask.Core.Tests.Inference;

public class WorkingScaleTests
{
    private static readonly Shape3 Big = new(256, 512, 512);

    [Theory]
    [InlineData(16, 16, 16, 1)]
    [InlineData(8, 8, 8, 2)]
    [InlineData(4, 4, 4, 4)]
    [InlineData(10, 10, 10, 2)] // 1.6 rounds up
    [InlineData(12, 12, 12, 1)] // 1.33 rounds down
    [InlineData(32, 32, 32, 1)] // coarser than the model: never upsampled
    [InlineData(40, 4, 4, 4)] // serial sections (z >= 2x the pixel) run section by section: the pixel decides
    [InlineData(8, 4, 4, 4)]  // z exactly 2x: section by section
    [InlineData(6, 4, 4, 3)]  // z 1.5x: a volume; the coarsest axis decides
    [InlineData(24, 16, 16, 1)]
    [InlineData(2, 2, 2, 8)]
    [InlineData(1.6, 1.6, 1.6, 8)] // 10, capped
    [InlineData(0.008, 0.008, 0.008, 2)] // µm, as napari layers scaled from element_size_um
    [InlineData(1, 1, 1, 1)] // unknown
    [InlineData(1, 8, 8, 1)] // mixed: unknown
    [InlineData(5000, 5000, 5000, 1)] // not an EM voxel
    public void FactorFollowsTheCoarsestSpacingOrThePixelForSerialSections(double z, double y, double x, int expected) =>
        Assert.Equal(expected, WorkingScale.FromVoxelSize(new VoxelSize(z, y, x), Big));

    [Theory]
    [InlineData(20, 512, 512, 1)] // 20 slices at 8 nm: 10 at scale 2 is too thin
    [InlineData(32, 512, 512, 2)]
    [InlineData(64, 48, 48, 3)] // at 4 nm: 4 would leave 12 voxels across
    [InlineData(1, 64, 64, 4)] // a 2D image: z does not count
    public void FactorKeepsAtLeastSixteenVoxelsPerAxis(int z, int y, int x, int expected)
    {
        var voxel = z == 20 || z == 32 ? new VoxelSize(8, 8, 8) : new VoxelSize(4, 4, 4);
        Assert.Equal(expected, WorkingScale.FromVoxelSize(voxel, new Shape3(z, y, x)));
    }

    [Fact]
    public void OtherModelVoxelSizesScaleTheRule()
    {
        Assert.Equal(4, WorkingScale.FromVoxelSize(new VoxelSize(8, 8, 8), Big, modelVoxelNm: 32));
        Assert.Throws<ArgumentOutOfRangeException>(() => WorkingScale.FromVoxelSize(new VoxelSize(8, 8, 8), Big, modelVoxelNm: 0));
    }

    [Fact]
    public void NanometresReadsMicrometresAndRefusesUnitSpacing()
    {
        Assert.Equal(new VoxelSize(40, 8, 8), WorkingScale.Nanometres(new VoxelSize(0.04, 0.008, 0.008)));
        Assert.Equal(new VoxelSize(40, 8, 8), WorkingScale.Nanometres(new VoxelSize(40, 8, 8)));
        Assert.Null(WorkingScale.Nanometres(VoxelSize.Isotropic));
    }
}

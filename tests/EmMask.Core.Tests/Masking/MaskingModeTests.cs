using EmMask.Core.Masking;
using EmMask.Core.Volumes;

namespace EmMask.Core.Tests.Masking;

/// <summary>Auto mode: per section for thin or anisotropic stacks, 3D otherwise.</summary>
public class MaskingModeTests
{
    [Theory]
    [InlineData(1, 1, 1, 1, "2d")]        // one section
    [InlineData(2, 1, 1, 1, "2d")]        // two sections
    [InlineData(63, 1, 1, 1, "2d")]       // fewer than 64 sections
    [InlineData(64, 1, 1, 1, "3d")]       // unknown voxel size: isotropic
    [InlineData(64, 16, 16, 16, "3d")]
    [InlineData(64, 25, 20, 20, "3d")]    // 1.25x anisotropy
    [InlineData(64, 40, 4, 4, "2d")]      // ssTEM: 10x
    [InlineData(64, 32, 16, 16, "2d")]    // exactly 2x
    public void AutoResolvesByShapeAndVoxelSize(int z, double sz, double sy, double sx, string expected) =>
        Assert.Equal(expected, MaskingModes.Name(MaskingModes.Resolve(MaskingMode.Auto, new Shape3(z, 64, 64), new VoxelSize(sz, sy, sx))));

    [Fact]
    public void ExplicitModesAreKept()
    {
        Assert.Equal(MaskingMode.ThreeD, MaskingModes.Resolve(MaskingMode.ThreeD, new Shape3(2, 64, 64), VoxelSize.Isotropic));
        Assert.Equal(MaskingMode.TwoD, MaskingModes.Resolve(MaskingMode.TwoD, new Shape3(200, 64, 64), VoxelSize.Isotropic));
    }

    [Theory]
    [InlineData("auto", MaskingMode.Auto)]
    [InlineData("2D", MaskingMode.TwoD)]
    [InlineData(" 3d ", MaskingMode.ThreeD)]
    public void ParsesNames(string text, MaskingMode mode) => Assert.Equal(mode, MaskingModes.Parse(text));

    [Fact]
    public void UnknownNameIsRefused() => Assert.Contains("auto, 2d or 3d", Assert.Throws<ArgumentException>(() => MaskingModes.Parse("4d")).Message);
}

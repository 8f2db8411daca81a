using EmMask.Core.Masking;
using EmMask.Core.Volumes;
using static EmMask.Core.Tests.Masking.TextureVolumes;

namespace EmMask.Core.Tests.Masking;

/// <summary>Exact-constant padding is found; noise, small plateaus and a gradient are not padding.</summary>
public class PaddingDetectorTests
{
    [Fact]
    public void ZeroBorderIsPaddingAndNoisyTissueIsNot()
    {
        var v = Resin(1, new Shape3(2, 64, 64));
        for (int z = 0; z < 2; z++)
        {
            for (int y = 0; y < 64; y++)
            {
                for (int x = 40; x < 64; x++)
                {
                    v[z, y, x] = 0;
                }
            }
        }

        var padding = PaddingDetector.Detect(v);
        Assert.NotNull(padding);
        Assert.Equal(1.0, Mean(padding, 40, 64));
        Assert.Equal(0.0, Mean(padding, 0, 40));
    }

    [Fact]
    public void NoiseAloneHasNoPadding() => Assert.Null(PaddingDetector.Detect(Resin(2, new Shape3(1, 64, 64))));

    [Fact]
    public void PlateausSmallerThanTheMinimumAreaAreKept()
    {
        var v = Resin(3, new Shape3(1, 64, 64));
        for (int y = 10; y < 25; y++)
        {
            for (int x = 10; x < 25; x++)
            {
                v[0, y, x] = 255; // 15 × 15 = 225 voxels < 256
            }
        }

        Assert.Null(PaddingDetector.Detect(v));
    }

    [Fact]
    public void SmoothRampWithoutRepeatsIsNotPadding()
    {
        var v = new Volume<float>(new Shape3(1, 64, 64));
        for (int y = 0; y < 64; y++)
        {
            for (int x = 0; x < 64; x++)
            {
                v[0, y, x] = (y * 64) + x;
            }
        }

        Assert.Null(PaddingDetector.Detect(v));
    }
}

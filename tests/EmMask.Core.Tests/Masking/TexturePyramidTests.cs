using EmMask.Core.Inference;
using EmMask.Core.Masking;
using EmMask.Core.Volumes;

namespace EmMask.Core.Tests.Masking;

/// <summary>The texture ratio is calibrated on noise at every level, and the level limits follow the shape.</summary>
public class TexturePyramidTests
{
    [Theory]
    [InlineData(0, 0.0)]
    [InlineData(1, 0.5)]
    [InlineData(2, 0.5)]
    [InlineData(3, 0.8)]
    public void NoiseAloneGivesRatioNearOneAtEveryLevel(int level, double correlation)
    {
        var model = new NoiseModel(3.0, correlation);
        var options = ClassicalMaskOptions.Default;
        var noise = TexturePyramid.Simulate(new Shape3(1, 512, 512), model, 99); // another seed than the reference
        var image = level == 0 ? noise : VolumeResampling.MeanDownsample(noise, 1 << level);
        double reference = TexturePyramid.NoiseReference(model, level, planar: true, options, default);
        var (logRatio, _) = TexturePyramid.Measure(image, options, reference, default);
        var values = logRatio.Span.ToArray();
        Array.Sort(values);
        Assert.InRange(Math.Exp(values[values.Length / 2]), 0.9, 1.1);
    }

    [Theory]
    [InlineData(1, 40, 40, true, 0)]
    [InlineData(1, 96, 96, true, 2)]
    [InlineData(1, 512, 512, true, 3)]
    [InlineData(16, 512, 512, false, 1)]
    [InlineData(64, 512, 512, false, 3)]
    public void HighestLevelKeepsEnoughVoxels(int z, int y, int x, bool planar, int expected) =>
        Assert.Equal(expected, TexturePyramid.HighestLevel(new Shape3(z, y, x), planar));

    [Fact]
    public void SeparabilityAtOtsusOwnThresholdIsOtsusAndLowerElsewhere()
    {
        // Two modes, 300 at 0 and 700 spread over 2..3: Otsu splits between them; a split inside the upper mode is worse.
        float[] values = [.. Enumerable.Repeat(0f, 300), .. Enumerable.Range(0, 700).Select(i => 2f + (i / 700f))];
        var otsu = OtsuThreshold.Compute(values);
        Assert.Equal(otsu.Separability, OtsuThreshold.SeparabilityAt(values, otsu.Threshold), 9);
        Assert.True(OtsuThreshold.SeparabilityAt(values, 2.5) < otsu.Separability - 0.2);
        Assert.Equal(0, OtsuThreshold.SeparabilityAt(values, -1)); // every value above: one class
        Assert.Equal(0, OtsuThreshold.SeparabilityAt(values, 4)); // every value below
        Assert.Equal(0, OtsuThreshold.SeparabilityAt([1f, 1f, 1f], 1));
    }

    [Fact]
    public void AThresholdOfTwoAboveTheValleyMayCutAtMostAThirdOfTheUpperClass()
    {
        // log ratios: a lower class at ln 1 (noise), an upper class with a share below ln 2 (= the smallest threshold).
        static float[] Sample(int lower, int upperBelowTwo, int upperAboveTwo) =>
            [.. Enumerable.Repeat(0f, lower), .. Enumerable.Repeat((float)Math.Log(1.5), upperBelowTwo), .. Enumerable.Repeat((float)Math.Log(4), upperAboveTwo)];

        double valley = Math.Log(1.2);
        Assert.False(TexturePyramid.ThresholdCutsUpperClass(Sample(100, 33, 67), valley)); // a third: still a split between classes
        Assert.True(TexturePyramid.ThresholdCutsUpperClass(Sample(100, 34, 66), valley)); // more: the threshold lies inside the upper class
        Assert.False(TexturePyramid.ThresholdCutsUpperClass(Sample(100, 90, 10), Math.Log(2))); // a valley at 2 is the threshold itself
        Assert.False(TexturePyramid.ThresholdCutsUpperClass(Sample(100, 0, 0), valley)); // no upper class
        Assert.False(TexturePyramid.ThresholdCutsUpperClass([], valley));
    }
}

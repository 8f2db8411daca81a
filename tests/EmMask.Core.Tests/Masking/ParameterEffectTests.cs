using EmMask.Core.Masking;
using static EmMask.Core.Tests.Masking.TextureVolumes;

namespace EmMask.Core.Tests.Masking;

/// <summary>Each documented parameter changes the result in the documented direction (none is silently ignored).</summary>
public class ParameterEffectTests
{
    private static readonly ClassicalMaskOptions Fixed = new() { Threshold = 2, MinimumRegionSize = 0 };

    [Fact]
    public void LargerBlockBridgesNarrowGaps()
    {
        var v = Resin(21);
        AddTexture(v, 0, 30, 0.8, 30, 22);
        AddTexture(v, 33, X, 0.8, 30, 23);
        var options = Fixed with { TextureSigma = 1.0 };
        double small = Mean(ClassicalMasker.Run(v, options with { BlockSize = 1 }).Mask, 30, 33);
        double large = Mean(ClassicalMasker.Run(v, options with { BlockSize = 15 }).Mask, 30, 33);
        Assert.True(small < 0.5, $"gap with block 1: {small}");
        Assert.True(large > 0.95, $"gap with block 15: {large}");
    }

    [Fact]
    public void LargerTextureSigmaMovesBoundaryOutwards()
    {
        var v = Resin(24);
        AddTexture(v, 20, 44, 0.8, 30, 25);
        long narrow = Count(ClassicalMasker.Run(v, Fixed with { TextureSigma = 1.5 }).Mask);
        long wide = Count(ClassicalMasker.Run(v, Fixed with { TextureSigma = 5 }).Mask);
        Assert.True(wide > narrow * 1.15, $"texture_sigma 1.5: {narrow}, 5: {wide}");
    }

    [Fact]
    public void LargerEdgeSigmaFavoursBroadStructure()
    {
        var v = Resin(26);
        AddTexture(v, 40, X, 4, 30, 27);
        double fine = Mean(ClassicalMasker.Run(v, Fixed with { EdgeSigma = 0.7 }).Confidence, 44, 60);
        double broad = Mean(ClassicalMasker.Run(v, Fixed with { EdgeSigma = 4 }).Confidence, 44, 60);
        Assert.True(broad > fine + 0.2, $"coarse-texture confidence: edge_sigma 0.7 -> {fine}, 4 -> {broad}");
    }

    [Fact]
    public void DogSigmasSelectTheTextureScale()
    {
        var v = Resin(28);
        AddTexture(v, 40, X, 4, 30, 29);
        double membranes = Mean(ClassicalMasker.Run(v, Fixed with { DogSigmaLow = 1, DogSigmaHigh = 2 }).Confidence, 44, 60);
        double coarse = Mean(ClassicalMasker.Run(v, Fixed with { DogSigmaLow = 3, DogSigmaHigh = 6 }).Confidence, 44, 60);
        Assert.True(coarse > membranes + 0.1, $"coarse texture: DoG(1,2) -> {membranes}, DoG(3,6) -> {coarse}");
    }

    [Fact]
    public void MinimumRegionSizeRemovesSmallRegionsOnly()
    {
        var v = Resin(30);
        AddTexture(v, 0, 30, 0.8, 30, 31);
        var box = (8, 18, 20, 30);
        AddTexture(v, 45, 55, 0.8, 30, 32, box);
        var keep = ClassicalMasker.Run(v, ClassicalMaskOptions.Default with { MinimumRegionSize = 0 }).Mask;
        var drop = ClassicalMasker.Run(v, ClassicalMaskOptions.Default with { MinimumRegionSize = 3000 }).Mask;
        var inner = (10, 16, 22, 28);
        Assert.True(Mean(keep, 47, 53, inner) > 0.99);
        Assert.Equal(0.0, Mean(drop, 47, 53, inner));
        Assert.True(Mean(drop, 0, 28) > 0.99);
    }

    [Fact]
    public void HigherThresholdKeepsLess()
    {
        var v = Resin(33);
        AddTexture(v, 20, 44, 0.8, 12, 34);
        long[] counts = new[] { 2.0, 4.0, 8.0 }.Select(t => Count(ClassicalMasker.Run(v, Fixed with { Threshold = t }).Mask)).ToArray();
        Assert.True(counts[0] > counts[1] && counts[1] > counts[2], string.Join(", ", counts));
    }

    [Fact]
    public void AutoThresholdIsReportedAndBetweenTheModes()
    {
        var v = Resin(35);
        AddTexture(v, 0, 32, 0.8, 30, 36);
        var r = ClassicalMasker.Run(v);
        Assert.InRange(r.Threshold, 1.2, 20);
    }
}

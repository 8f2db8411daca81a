using EmMask.Core.Masking;
using EmMask.Core.Volumes;
using static EmMask.Core.Tests.Masking.TextureVolumes;

namespace EmMask.Core.Tests.Masking;

/// <summary>Each documented parameter changes the result in the documented direction (none is silently ignored).</summary>
public class ParameterEffectTests
{
    // Level 0 and 3D: the texture volumes are small 3D stacks, and a fixed level keeps each parameter's effect in voxels.
    // No boundary refinement (it runs at level 0 too since 2026-12-06): it would put every boundary back on the image's
    // edge and hide the texture vote's own response; RefinedBoundaryLiesCloserToTheTissueEdge tests it.
    private static readonly ClassicalMaskOptions Fixed = new() { Threshold = 2, MinimumRegionSize = 0, Level = 0, Mode = MaskingMode.ThreeD, RefineBoundary = false };

    [Fact]
    public void LargerBlockBridgesNarrowGaps()
    {
        // Resin on both sides (x < 20, x >= 74) lets the noise model see plain noise; a 6-voxel gap at x 44..49.
        var v = Resin(21, new Volumes.Shape3(Z, Y, 96));
        AddTexture(v, 20, 44, 0.8, 30, 22);
        AddTexture(v, 50, 74, 0.8, 30, 23);
        var options = Fixed with { TextureSigma = 1.0 };
        double small = Mean(ClassicalMasker.Run(v, options with { BlockSize = 1 }).Mask, 45, 49);
        double large = Mean(ClassicalMasker.Run(v, options with { BlockSize = 21 }).Mask, 45, 49);
        Assert.True(small < 0.5, $"gap with block 1: {small}");
        Assert.True(large > 0.95, $"gap with block 21: {large}");
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
        // 24 x 48 x 256 (294 912 voxels: 1 % is 2950, above the 1000-voxel box)
        var v = Resin(30, new EmMask.Core.Volumes.Shape3(Z, Y, 256));
        AddTexture(v, 0, 30, 0.8, 30, 31);
        var box = (8, 18, 20, 30);
        AddTexture(v, 45, 55, 0.8, 30, 32, box);
        var keep = ClassicalMasker.Run(v, Fixed with { Threshold = null, MinimumRegionSize = 0 }).Mask;
        var drop = ClassicalMasker.Run(v, Fixed with { Threshold = null, MinimumRegionSize = 3000 }).Mask;
        var inner = (10, 16, 22, 28);
        Assert.True(Mean(keep, 47, 53, inner) > 0.99);
        Assert.Equal(0.0, Mean(drop, 47, 53, inner));
        Assert.True(Mean(drop, 0, 28) > 0.99);

        // In the 24 x 48 x 64 volume the same box holds 1.4 % of the voxels: kept whatever the minimum.
        var small = Resin(30);
        AddTexture(small, 0, 30, 0.8, 30, 31);
        AddTexture(small, 45, 55, 0.8, 30, 32, box);
        Assert.True(Mean(ClassicalMasker.Run(small, Fixed with { Threshold = null, MinimumRegionSize = 3000 }).Mask, 47, 53, inner) > 0.99);
    }

    [Fact]
    public void NoRegionHoldingOnePercentOfTheImageIsRemoved()
    {
        var options = ClassicalMaskOptions.Default;
        Assert.Equal(1000, options.MinimumRegionFor(512 * 512));
        Assert.Equal(41, options.MinimumRegionFor(64 * 64));
        Assert.Equal(0, (options with { MinimumRegionSize = 0 }).MinimumRegionFor(64 * 64));

        // One 64² section: a 24 x 24 textured patch (576 pixels, 14 % of the image) on resin is tissue; at the flat 1000
        // of a large image it was removed and the section came out empty.
        var v = Resin(40, new EmMask.Core.Volumes.Shape3(1, 64, 64));
        AddTexture(v, 20, 44, 0.8, 30, 41, (0, 1, 20, 44));
        var mask = ClassicalMasker.Run(v, Fixed with { Threshold = null, Mode = MaskingMode.TwoD }).Mask;
        Assert.True(Mean(mask, 22, 42, (0, 1, 22, 42)) > 0.99, $"{Count(mask)} tissue pixels");
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

    [Fact]
    public void DenseThresholdKeepsStainedFlatMaterialAsTissue()
    {
        // Resin (128), textured tissue stained darker (x >= 40, mean 100) and a flat band more stained still (x 30..39, 60).
        var v = Resin(40, new Volumes.Shape3(1, 96, 96));
        AddTexture(v, 40, 96, 1.5, 25, 41);
        for (int y = 0; y < 96; y++)
        {
            for (int x = 30; x < 96; x++)
            {
                v[0, y, x] -= x < 40 ? 68 : 28;
            }
        }

        var options = Fixed with { Threshold = null, Mode = MaskingMode.TwoD };
        double off = Mean(ClassicalMasker.Run(v, options with { DenseThreshold = 0 }).Mask, 34, 38);
        double on = Mean(ClassicalMasker.Run(v, options with { DenseThreshold = 1.5 }).Mask, 34, 38);
        Assert.True(off < 0.3, $"stained band without the rule: {off}");
        Assert.True(on > 0.9, $"stained band with dense_threshold 1.5: {on}");
    }

    [Fact]
    public void ModeTwoDKeepsEachSectionToItself()
    {
        // Texture only in sections 10..13 (x < 40) of a 24-section stack: 3D texture windows reach the neighbouring sections.
        var v = Resin(42);
        AddTexture(v, 0, 40, 1.5, 30, 43, (10, 14, 0, Y));
        var options = Fixed with { Threshold = null };
        var threeD = ClassicalMasker.Run(v, options with { Mode = MaskingMode.ThreeD }).Mask;
        var twoD = ClassicalMasker.Run(v, options with { Mode = MaskingMode.TwoD }).Mask;
        var below = (8, 9, 0, Y);
        Assert.True(Mean(threeD, 4, 36, below) > 0.5, $"3D, section 8: {Mean(threeD, 4, 36, below)}");
        Assert.True(Mean(twoD, 4, 36, below) < 0.05, $"2D, section 8: {Mean(twoD, 4, 36, below)}");
        Assert.True(Mean(twoD, 4, 36, (11, 12, 0, Y)) > 0.9, $"2D, section 11: {Mean(twoD, 4, 36, (11, 12, 0, Y))}");
    }

    [Fact]
    public void HigherLevelFindsWeakCoarseTexture()
    {
        // Texture with 3-voxel correlation, weaker than the noise voxel by voxel: invisible at level 0, clear at level 2.
        var v = Resin(44, new Volumes.Shape3(1, 128, 128));
        AddTexture(v, 64, 128, 3, 5, 45);
        var options = Fixed with { Threshold = null, Mode = MaskingMode.TwoD };
        double fine = Mean(ClassicalMasker.Run(v, options with { Level = 0 }).Mask, 72, 120);
        double coarse = Mean(ClassicalMasker.Run(v, options with { Level = 2 }).Mask, 72, 120);
        Assert.True(fine < 0.5, $"level 0: {fine}");
        Assert.True(coarse > 0.9, $"level 2: {coarse}");
    }

    [Fact]
    public void RefinedBoundaryLiesCloserToTheTissueEdge()
    {
        // At level 2 the texture window spreads the tissue several voxels into resin; refinement takes the boundary back.
        var v = Resin(46, new Volumes.Shape3(1, 128, 128));
        AddTexture(v, 0, 64, 1.5, 30, 47);
        for (int y = 0; y < 128; y++)
        {
            for (int x = 0; x < 64; x++)
            {
                v[0, y, x] -= 30; // stained tissue: a clear edge at x = 64
            }
        }

        // The resin rule is off: this is the refinement's effect alone. With it (default window 3) the coarse mask
        // lies closer (+13.9 voxels instead of +22.2), so the refinement's tissue markers start 6 voxels inside the edge
        // and the watershed settles on a texture edge 3.1 voxels inside (without the rule: +2.6).
        var options = Fixed with { Threshold = null, Mode = MaskingMode.TwoD, Level = 2, ResinWindow = 0 };
        long coarse = Count(ClassicalMasker.Run(v, options with { RefineBoundary = false }).Mask);
        long refined = Count(ClassicalMasker.Run(v, options with { RefineBoundary = true }).Mask);
        long truth = 128 * 64;
        Assert.True(Math.Abs(refined - truth) < Math.Abs(coarse - truth), $"tissue voxels: truth {truth}, coarse {coarse}, refined {refined}");
        Assert.True(Math.Abs(refined - truth) < 128 * 3, $"refined boundary off by {(refined - truth) / 128.0:F1} voxels on average");
    }

    // Bright resin, textured tissue in x < 110 and beside it a smooth block darker than the tissue's median but not so
    // dark that the stain rule (1.5 spreads) raises it: the texture calls it resin.
    private static Volume<float> StainJoinSection()
    {
        var random = new Random(11);
        var texture = new Volume<float>(new Shape3(1, 256, 256));
        for (int i = 0; i < texture.Span.Length; i++)
        {
            texture.Span[i] = (float)(random.NextDouble() - 0.5);
        }

        EmMask.Core.Filters.GaussianFilter.Apply(texture, texture, new EmMask.Core.Filters.Sigma3(0, 1, 1));
        float sd = MathF.Sqrt(texture.Span.ToArray().Select(v => v * v).Average());
        var image = new Volume<float>(texture.Shape);
        for (int y = 0; y < 256; y++)
        {
            for (int x = 0; x < 256; x++)
            {
                float noise = (float)(random.NextDouble() - 0.5) * 10;
                image[0, y, x] = x < 110 ? 130 + (25 * texture[0, y, x] / sd) : y is >= 40 and < 140 && x < 180 ? 105 + noise : 200 + noise;
            }
        }

        return image;
    }

    [Fact]
    public void StainJoinTakesInAStainedBlockTouchingASectionsTissueAndNotTheResin()
    {
        var result = ClassicalMasker.Run(StainJoinSection(), ClassicalMaskOptions.Default);
        double block = 0, resin = 0;
        for (int y = 45; y < 135; y++)
        {
            for (int x = 120; x < 175; x++)
            {
                block += result.Mask[0, y, x];
            }
        }

        for (int y = 160; y < 256; y++)
        {
            for (int x = 130; x < 256; x++)
            {
                resin += result.Mask[0, y, x];
            }
        }

        Assert.True(block / (90 * 55) > 0.9, $"block {block / (90 * 55):P1} tissue");
        Assert.True(resin / (96 * 126) < 0.05, $"resin {resin / (96 * 126):P1} tissue");
        Assert.True(result.Confidence[0, 90, 150] >= 0.5f); // the confidence agrees with the mask

        // stain_join = 0 turns the join off; a score above the block's stain leaves it out too.
        foreach (double score in new[] { 0.0, 50.0 })
        {
            var off = ClassicalMasker.Run(StainJoinSection(), ClassicalMaskOptions.Default with { StainJoin = score });
            Assert.Equal(0, off.Mask[0, 90, 150]);
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => (ClassicalMaskOptions.Default with { StainJoin = -1 }).Validate());
    }
}

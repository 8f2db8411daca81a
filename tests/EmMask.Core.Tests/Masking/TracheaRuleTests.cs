using EmMask.Core.Masking;
using EmMask.Core.Morphology;
using EmMask.Core.Phantom;
using EmMask.Core.PostProcessing;
using EmMask.Core.Volumes;
using static EmMask.Core.Tests.Masking.TextureVolumes;

namespace EmMask.Core.Tests.Masking;

/// <summary>The trachea rule: a stained wall around a resin-like lumen is non-brain; stained material elsewhere stays tissue.</summary>
public class TracheaRuleTests
{
    /// <summary>
    /// Textured tissue (stained 28 below resin) with a trachea along z through every section: a smooth dark wall (radius 8–11,
    /// cuticle) around a lumen of plain resin (radius under 8). It is no 3D hole, so only the vote decides.
    /// </summary>
    private static Volume<float> TissueWithTrachea(int seed)
    {
        var v = Resin(seed, new Shape3(24, 96, 96));
        AddTexture(v, 0, 96, 1.5, 25, seed + 1);
        var lumen = Resin(seed + 2, v.Shape);
        for (int z = 0; z < 24; z++)
        {
            for (int y = 0; y < 96; y++)
            {
                for (int x = 0; x < 96; x++)
                {
                    double r = Math.Sqrt(((y - 48) * (y - 48)) + ((x - 48) * (x - 48)));
                    v[z, y, x] = r < 8 ? lumen[z, y, x] : r < 11 ? lumen[z, y, x] - 68 : v[z, y, x] - 28;
                }
            }
        }

        return v;
    }

    private static double TissueWithin(Volume<byte> mask, double radius)
    {
        long n = 0, tissue = 0;
        for (int z = 0; z < mask.Shape.Z; z++)
        {
            for (int y = 0; y < mask.Shape.Y; y++)
            {
                for (int x = 0; x < mask.Shape.X; x++)
                {
                    if (((y - 48) * (y - 48)) + ((x - 48) * (x - 48)) < radius * radius)
                    {
                        n++;
                        tissue += mask[z, y, x];
                    }
                }
            }
        }

        return (double)tissue / n;
    }

    [Fact]
    public void ATracheaInTissueIsNonBrainAndOnlyWithTheRule()
    {
        var v = TissueWithTrachea(70);
        var options = ClassicalMaskOptions.Default with { Mode = MaskingMode.ThreeD, Level = 0, MinimumRegionSize = 0 };
        var with = ClassicalMasker.Run(v, options).Mask;
        var without = ClassicalMasker.Run(v, options with { TracheaGap = 0 }).Mask;
        double off = TissueWithin(without, 11), on = TissueWithin(with, 11);
        Assert.True(off > 0.3, $"trachea without the rule: {off:F3} tissue (its stained wall)");
        Assert.True(on < 0.6 * off, $"trachea with trachea_gap 16: {on:F3} tissue, without the rule {off:F3}");
        Assert.True(Mean(with, 0, 20) > 0.95, $"tissue away from the trachea: {Mean(with, 0, 20):F3}");
        Assert.Equal(0.0, TissueWithin(with, 7)); // the lumen itself
    }

    [Fact]
    public void ALumenWiderThanTheGapIsNotATrachea()
    {
        var v = TissueWithTrachea(71);
        var options = ClassicalMaskOptions.Default with { Mode = MaskingMode.ThreeD, Level = 0, MinimumRegionSize = 0 };
        var off = TissueWithin(ClassicalMasker.Run(v, options with { TracheaGap = 0 }).Mask, 11);
        var narrow = TissueWithin(ClassicalMasker.Run(v, options with { TracheaGap = 16 }).Mask, 11); // the lumen is 15 voxels across
        var wide = TissueWithin(ClassicalMasker.Run(v, options with { TracheaGap = 8 }).Mask, 11);
        Assert.True(narrow < 0.6 * off, $"gap 16: {narrow:F3}, rule off {off:F3}");
        Assert.True(Math.Abs(wide - off) < 0.02, $"gap 8: {wide:F3}, rule off {off:F3}");
    }

    [Fact]
    public void AStainedBandAtTheTissueEdgeStaysTissue()
    {
        // The stain rule's case (ParameterEffectTests) with the trachea rule on: resin on one side, nothing enclosed.
        var v = Resin(40, new Shape3(1, 96, 96));
        AddTexture(v, 40, 96, 1.5, 25, 41);
        for (int y = 0; y < 96; y++)
        {
            for (int x = 30; x < 96; x++)
            {
                v[0, y, x] -= x < 40 ? 68 : 28;
            }
        }

        var options = ClassicalMaskOptions.Default with { Threshold = 2, MinimumRegionSize = 0, Level = 0, Mode = MaskingMode.TwoD, TracheaGap = 16 };
        Assert.True(Mean(ClassicalMasker.Run(v, options).Mask, 34, 38) > 0.9);
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(2, true)]
    public void PhantomTracheaeAreMostlyNonBrainWithTheRule(int seed, bool invert)
    {
        var layers = new PhantomLayers();
        var phantom = EmPhantom.Generate(new PhantomOptions { Seed = seed, Invert = invert }, default, -1, layers);
        double Kept(ClassicalMaskOptions o)
        {
            var mask = ClassicalMasker.Run(phantom.Raw, o).Mask;
            PostProcessPresets.Get("clean").Apply(mask);
            long tube = 0, kept = 0;
            var m = mask.Span;
            for (int i = 0; i < m.Length; i++)
            {
                if (layers.Tube[i] != 0)
                {
                    tube++;
                    kept += m[i];
                }
            }

            return (double)kept / tube;
        }

        double with = Kept(ClassicalMaskOptions.Default), without = Kept(ClassicalMaskOptions.Default with { TracheaGap = 0 });
        Assert.True(with < without * 0.6, $"trachea voxels called tissue: rule off {without:F3}, on {with:F3}");
    }

    [Fact]
    public void NegativeGapIsNamed()
    {
        Assert.Equal("trachea_gap", Assert.Throws<ArgumentOutOfRangeException>(() => (ClassicalMaskOptions.Default with { TracheaGap = -1 }).Validate()).ParamName);
    }

    [Fact]
    public void BoxMaximumIsTheNaiveBoxDilation()
    {
        // 13 columns: scalar paths only; 70: vectors of 32 bytes along y and z, with a scalar tail.
        foreach (var shape in new[] { new Shape3(7, 11, 13), new Shape3(6, 9, 70) })
        {
            CheckBoxMaximum(shape);
        }
    }

    private static void CheckBoxMaximum(Shape3 shape)
    {
        var random = new Random(5);
        var source = new Volume<byte>(shape);
        var s = source.Span;
        for (int i = 0; i < s.Length; i++)
        {
            s[i] = random.NextDouble() < 0.03 ? (byte)(1 + random.Next(255)) : (byte)0;
        }

        foreach (bool planar in new[] { false, true })
        {
            foreach (int radius in new[] { 0, 1, 3, 20 })
            {
                var fast = new Volume<byte>(shape, s.ToArray());
                BoxMaximum.Apply(fast, radius, planar);
                for (int z = 0; z < shape.Z; z++)
                {
                    for (int y = 0; y < shape.Y; y++)
                    {
                        for (int x = 0; x < shape.X; x++)
                        {
                            int rz = planar ? 0 : radius;
                            bool any = false;
                            for (int dz = Math.Max(0, z - rz); dz <= Math.Min(shape.Z - 1, z + rz) && !any; dz++)
                            {
                                for (int dy = Math.Max(0, y - radius); dy <= Math.Min(shape.Y - 1, y + radius) && !any; dy++)
                                {
                                    for (int dx = Math.Max(0, x - radius); dx <= Math.Min(shape.X - 1, x + radius) && !any; dx++)
                                    {
                                        any = source[dz, dy, dx] != 0;
                                    }
                                }
                            }

                            Assert.True(fast[z, y, x] == (any ? 1 : 0), $"planar {planar} radius {radius} at {z},{y},{x}");
                        }
                    }
                }
            }
        }
    }
}

using EmMask.Core.Volumes;
using EmMask.Learning.Training;

namespace EmMask.Learning.Tests.Training;

/// <summary>The augmentations real EM needs: thick, shifted, lost sections, 2-D patches, JPEG blocks and tile seams.</summary>
public class RealEmAugmentationTests
{
    // Each voxel holds its section index (image) or its section index + 100 (labels), so moves are easy to read back.
    private static (float[] Image, float[] Label, float[] Weight) Sections(Shape3 p)
    {
        int plane = p.Y * p.X;
        var i = new float[p.Length];
        var l = new float[p.Length];
        var w = new float[p.Length];
        for (int k = 0; k < i.Length; k++)
        {
            i[k] = k / plane;
            l[k] = 100 + k / plane;
            w[k] = 1;
        }
        return (i, l, w);
    }

    private static float At(float[] a, Shape3 p, int z, int y = 0, int x = 0) => a[(z * p.Y + y) * p.X + x];

    [Fact]
    public void ThickSectionsRepeatEveryKthSectionInAllArrays()
    {
        var p = new Shape3(8, 3, 3);
        var (i, l, w) = Sections(p);
        SectionAugmentation.Thicken(i, l, w, p, k: 2, phase: 0, meanImage: false, new float[p.Length]);
        // Blocks {0,1}, {2,3}, ...: each takes its middle (second) section.
        for (int z = 0; z < p.Z; z++)
        {
            Assert.Equal(z / 2 * 2 + 1, At(i, p, z));
            Assert.Equal(100 + z / 2 * 2 + 1, At(l, p, z));
        }
        Assert.All(w, v => Assert.Equal(1f, v));
    }

    [Fact]
    public void ThickSectionsCanAverageTheImageOverTheBlock()
    {
        var p = new Shape3(7, 2, 2);
        var (i, l, w) = Sections(p);
        SectionAugmentation.Thicken(i, l, w, p, k: 3, phase: 1, meanImage: true, new float[p.Length]);
        // phase 1: blocks {0} (clamped from {-2,-1,0}), {1,2,3}, {4,5,6}.
        Assert.Equal(0f, At(i, p, 0));
        Assert.Equal(2f, At(i, p, 1), 5);
        Assert.Equal(2f, At(i, p, 3), 5);
        Assert.Equal(5f, At(i, p, 6), 5);
        Assert.Equal(105f, At(l, p, 4)); // labels: the block's middle section
        float sum = 0;
        foreach (var v in i) sum += v;
        Assert.Equal(0 + 3 * 2 + 3 * 5, sum / (p.Y * p.X), 4); // block means
    }

    [Fact]
    public void ShiftedSectionsMoveImageAndLabelsTogetherAndZeroTheWeightOfWhatCameIn()
    {
        var p = new Shape3(2, 6, 6);
        var i = new float[p.Length];
        var l = new float[p.Length];
        var w = Enumerable.Repeat(1f, (int)p.Length).ToArray();
        i[(1 * 6 + 2) * 6 + 3] = 5f; // section 1, (y 2, x 3)
        l[(1 * 6 + 2) * 6 + 3] = 1f;
        SectionAugmentation.Shift(i, l, w, p, [0, 1], [0, -2], new float[p.Length]);
        Assert.Equal(5f, At(i, p, 1, 3, 1));
        Assert.Equal(1f, At(l, p, 1, 3, 1));
        Assert.Equal(5f, i.Sum());
        Assert.Equal(0f, At(w, p, 1, 0, 2)); // row 0 came from y = -1
        Assert.Equal(0f, At(w, p, 1, 3, 5)); // columns 4-5 came from x = 6, 7
        Assert.Equal(1f, At(w, p, 1, 3, 3));
        Assert.Equal(36f, w.Take(36).Sum()); // section 0 did not move
        Assert.Equal(36 - (6 + 2 * 5), w.Skip(36).Sum());
    }

    [Fact]
    public void LostSectionsAreBlankOrCopiedAndWeighNothing()
    {
        var p = new Shape3(4, 3, 3);
        var (i, _, w) = Sections(p);
        SectionAugmentation.Drop(i, w, p, z: 2, fill: 0.5f, copyFrom: -1);
        SectionAugmentation.Drop(i, w, p, z: 1, fill: 0f, copyFrom: 0);
        Assert.Equal(0.5f, At(i, p, 2, 1, 1));
        Assert.Equal(0f, At(i, p, 1, 2, 2));
        Assert.Equal(3f, At(i, p, 3));
        Assert.Equal(2 * 9f, w.Sum());
        Assert.Equal(0f, At(w, p, 1));
        Assert.Equal(0f, At(w, p, 2));
    }

    [Fact]
    public void PlanarPatchesCopyTheMiddleSectionEverywhere()
    {
        var p = new Shape3(6, 4, 4);
        var (i, l, w) = Sections(p);
        var aug = new PatchAugmenter(AugmentationOptions.None with { PlanarProbability = 1 }, p);
        aug.Apply(new TrainingRandom(3), i, l, w);
        Assert.All(i, v => Assert.Equal(3f, v));
        Assert.All(l, v => Assert.Equal(103f, v));
    }

    [Fact]
    public void JpegBlocksKeepAConstantConstantAndHighQualityNearlyExact()
    {
        var p = new Shape3(1, 16, 16);
        var flat = Enumerable.Repeat(0.4f, (int)p.Length).ToArray();
        JpegBlockArtefacts.Apply(flat, p, quality: 10, phaseY: 3, phaseX: 5);
        Assert.All(flat, v => Assert.Equal(flat[0], v, 6));
        Assert.InRange(flat[0], 0.4f - 8f / 255, 0.4f + 8f / 255);

        var rng = new Random(1);
        var smooth = Enumerable.Range(0, (int)p.Length).Select(k => (float)(0.3 + 0.02 * (k % 16) + 0.01 * (k / 16))).ToArray();
        var copy = (float[])smooth.Clone();
        JpegBlockArtefacts.Apply(copy, p, quality: 100, phaseY: 0, phaseX: 0);
        for (int k = 0; k < copy.Length; k++) Assert.Equal(smooth[k], copy[k], 2);
        Assert.Equal(Enumerable.Repeat(1.0, 64), JpegBlockArtefacts.Table(100));
        Assert.Equal(16.0, JpegBlockArtefacts.Table(50)[0]);
    }

    [Fact]
    public void LowJpegQualityMakesBlockEdgesStandOut()
    {
        // White noise has no preferred grid; after quality-10 quantisation the jumps across 8-pixel block edges are
        // larger than those inside blocks.
        var p = new Shape3(1, 64, 64);
        var rng = new Random(2);
        var img = Enumerable.Range(0, (int)p.Length).Select(_ => (float)(0.5 + 0.15 * (rng.NextDouble() - 0.5))).ToArray();
        JpegBlockArtefacts.Apply(img, p, quality: 10, phaseY: 0, phaseX: 0);
        double edge = 0, inside = 0;
        int ne = 0, ni = 0;
        for (int y = 0; y < 64; y++)
            for (int x = 1; x < 64; x++)
            {
                double d = Math.Abs(img[y * 64 + x] - img[y * 64 + x - 1]);
                if (x % 8 == 0) { edge += d; ne++; } else { inside += d; ni++; }
            }
        Assert.True(edge / ne > 1.5 * inside / ni, $"edge jump {edge / ne:F4}, inside {inside / ni:F4}");
    }

    [Fact]
    public void TileSeamsChangeOneSideOfALineAndNotTheLabels()
    {
        var p = new Shape3(2, 5, 6);
        var i = Enumerable.Repeat(0.5f, (int)p.Length).ToArray();
        TileSeam.Apply(i, p, alongX: false, position: 4, gain: 1.2f, step: 0.1f, line: 0.05f);
        Assert.Equal(0.5f, At(i, p, 1, 2, 3));
        Assert.Equal(0.5f * 1.2f + 0.1f + 0.05f, At(i, p, 1, 2, 4), 5);
        Assert.Equal(0.5f * 1.2f + 0.1f, At(i, p, 0, 4, 5), 5);

        var q = new Shape3(4, 8, 8);
        var (img, l, w) = Sections(q);
        var labels = (float[])l.Clone();
        new PatchAugmenter(AugmentationOptions.None with { SeamProbability = 1, SeamStep = 0.2 }, q).Apply(new TrainingRandom(9), img, l, w);
        Assert.Equal(labels, l);
        Assert.All(w, v => Assert.Equal(1f, v));
    }

    [Fact]
    public void CurtainsStreakResinMoreThanTissueAlongOneAxisAndLeaveTheLabels()
    {
        // Left half resin (label 0), right half tissue, on a flat image: the streaks are constant along their run
        // (from their start row on), and tissue gets 0.4 of each streak.
        var p = new Shape3(3, 32, 32);
        var image = Enumerable.Repeat(0.5f, (int)p.Length).ToArray();
        var label = new float[p.Length];
        for (int k = 0; k < label.Length; k++) label[k] = k % p.X >= 16 ? 1f : 0f;
        var labels = (float[])label.Clone();
        var (offset, start) = Curtaining.Draw(new TrainingRandom(3), p.X, p.Y, 0.15);
        Assert.Contains(offset, v => Math.Abs(v) > 0.02f);
        Curtaining.Apply(image, label, p, alongY: true, offset, start);
        Assert.Equal(labels, label);
        for (int x = 0; x < p.X; x++)
        {
            float factor = x >= 16 ? Curtaining.TissueFactor : 1f;
            for (int z = 0; z < p.Z; z++)
                for (int y = 0; y < p.Y; y++)
                    Assert.Equal(y < start[x] ? 0.5f : 0.5f + (offset[x] * factor), At(image, p, z, y, x), 5);
        }

        // Through the augmenter, with nothing else on: only the image changes.
        var (img, l, w) = Sections(new Shape3(4, 16, 16));
        var before = (float[])img.Clone();
        var lab = (float[])l.Clone();
        new PatchAugmenter(AugmentationOptions.None with { CurtainProbability = 1, CurtainStrength = 0.15 }, new Shape3(4, 16, 16)).Apply(new TrainingRandom(2), img, l, w);
        Assert.NotEqual(before, img);
        Assert.Equal(lab, l);
    }

    [Fact]
    public void RealEmPresetKeepsLabelsBinaryWeightsInRangeAndRepeatsForASeed()
    {
        var p = new Shape3(16, 16, 16);
        float[] Run(int seed, out float[] label, out float[] weight)
        {
            var aug = new PatchAugmenter(AugmentationOptions.RealEmCurtains with
            {
                SectionThicknessProbability = 0.5, SectionShiftProbability = 0.5, MissingSectionProbability = 0.5,
                JpegProbability = 0.5, SeamProbability = 0.5, PlanarProbability = 0.3,
            }, p);
            var rng = new TrainingRandom(seed);
            var image = new float[p.Length];
            label = new float[p.Length];
            weight = new float[p.Length];
            var all = new List<float>();
            for (int t = 0; t < 12; t++)
            {
                var ball = SyntheticVolumes.Ball(16, t);
                ball.Image.Span.CopyTo(image);
                for (int k = 0; k < label.Length; k++) label[k] = ball.Labels.Span[k];
                Array.Fill(weight, 1f);
                aug.Apply(rng, image, label, weight);
                Assert.All(label, v => Assert.True(v is 0f or 1f));
                Assert.All(weight, v => Assert.True(v is 0f or 1f));
                Assert.All(image, v => Assert.True(float.IsFinite(v)));
                all.AddRange(image);
            }
            return all.ToArray();
        }
        Assert.Equal(Run(4, out _, out _), Run(4, out _, out _));
        Assert.NotEqual(Run(4, out _, out _), Run(5, out _, out _));
    }

    [Fact]
    public void OptionsThatAreOffLeaveTheOldRandomSequence()
    {
        // Default and Default with every new option's range set but its probability 0 draw the same numbers.
        var p = new Shape3(8, 8, 8);
        var changed = AugmentationOptions.Default with { SectionThickness = (2, 5), SectionShift = 3, JpegQuality = (10, 20), SeamStep = 0.3, CurtainStrength = 0.2 };
        var a = new TrainingRandom(11);
        var b = new TrainingRandom(11);
        var (i1, l1, w1) = Sections(p);
        var (i2, l2, w2) = Sections(p);
        new PatchAugmenter(AugmentationOptions.Default, p).Apply(a, i1, l1, w1);
        new PatchAugmenter(changed, p).Apply(b, i2, l2, w2);
        Assert.Equal(a.State, b.State);
        Assert.Equal(i1, i2);
    }

    [Theory]
    [InlineData("SectionThicknessProbability")]
    [InlineData("SectionThickness")]
    [InlineData("SectionShift")]
    [InlineData("JpegQuality")]
    [InlineData("SeamStep")]
    [InlineData("PlanarProbability")]
    [InlineData("CurtainStrength")]
    public void InvalidOptionsNameTheParameter(string name)
    {
        var bad = name switch
        {
            "SectionThicknessProbability" => AugmentationOptions.RealEm with { SectionThicknessProbability = 1.5 },
            "SectionThickness" => AugmentationOptions.RealEm with { SectionThickness = (3, 2) },
            "SectionShift" => AugmentationOptions.RealEm with { SectionShift = 0 },
            "JpegQuality" => AugmentationOptions.RealEm with { JpegQuality = (0, 50) },
            "SeamStep" => AugmentationOptions.RealEm with { SeamStep = double.NaN },
            "CurtainStrength" => AugmentationOptions.RealEm with { CurtainProbability = 0.5, CurtainStrength = 0 },
            _ => AugmentationOptions.RealEm with { PlanarProbability = -0.1 },
        };
        var e = Assert.Throws<ArgumentOutOfRangeException>(bad.Validate);
        Assert.Equal(name, e.ParamName);
        AugmentationOptions.RealEm.Validate();
        AugmentationOptions.Default.Validate();
        AugmentationOptions.None.Validate();
        AugmentationOptions.RealEmCurtains.Validate();
    }

    [Fact]
    public void ThinVolumesGiveTwoDimensionalPatches()
    {
        // One 6x6 section: every plane of an 4x4x4 patch is the same section, with full weight.
        var shape = new Shape3(1, 6, 6);
        var img = new Volume<float>(shape);
        var lab = new Volume<byte>(shape);
        for (int y = 0; y < 6; y++) for (int x = 0; x < 6; x++) { img[0, y, x] = y * 6 + x; lab[0, y, x] = (byte)(x < 3 ? 1 : 0); }
        var p = new Shape3(4, 4, 4);
        float[] i = new float[p.Length], l = new float[p.Length], w = new float[p.Length];
        var sections = new PatchSampler([new TrainingVolume(img, lab)], (1, 1, 1, 1), thinAsSections: true);
        sections.Sample(new TrainingRandom(1), p, i, l, w);
        Assert.All(w, v => Assert.Equal(1f, v));
        for (int z = 1; z < 4; z++)
            Assert.Equal(i.AsSpan(0, 16).ToArray(), i.AsSpan(z * 16, 16).ToArray());
        Assert.Contains(1f, l);
        Assert.Contains(0f, l);

        var padded = new PatchSampler([new TrainingVolume(img, lab)], (1, 1, 1, 1));
        padded.Sample(new TrainingRandom(1), p, i, l, w);
        Assert.Equal(16f, w.Sum()); // the old behaviour: one section of weight, zero padding around it
    }
}

using EmMask.Core.Volumes;
using EmMask.Learning.Training;

namespace EmMask.Learning.Tests.Training;

public class PatchSamplingTests
{
    [Fact]
    public void CentresAreBalancedBetweenTissueResinAndBoundary()
    {
        // 4% tissue: uniform sampling would often miss it.
        var shape = new Shape3(20, 20, 20);
        var img = new Volume<float>(shape);
        var lab = new Volume<byte>(shape);
        for (int z = 8; z < 12; z++) for (int y = 5; y < 15; y++) for (int x = 5; x < 13; x++) lab[z, y, x] = 1;
        var sampler = new PatchSampler([new TrainingVolume(img, lab)], (1, 0, 0, 0)); // tissue centres only
        var rng = new TrainingRandom(1);
        var p = new Shape3(4, 4, 4);
        float[] i = new float[p.Length], l = new float[p.Length], w = new float[p.Length];
        int centreTissue = 0;
        for (int k = 0; k < 50; k++)
        {
            var (_, c) = sampler.Sample(rng, p, i, l, w);
            if (lab[c.Z, c.Y, c.X] == 1 && l.Contains(1f)) centreTissue++;
        }
        Assert.Equal(50, centreTissue);
    }

    [Fact]
    public void MissingKindsFallBackInsteadOfLooping()
    {
        var shape = new Shape3(6, 6, 6);
        var lab = new Volume<byte>(shape);
        lab[3, 3, 3] = 1; // the only tissue voxel is a boundary voxel: no pure-tissue centres exist
        var sampler = new PatchSampler([new TrainingVolume(new Volume<float>(shape), lab)], (1, 0, 0, 0));
        var p = new Shape3(2, 2, 2);
        float[] i = new float[p.Length], l = new float[p.Length], w = new float[p.Length];
        sampler.Sample(new TrainingRandom(1), p, i, l, w);
    }

    [Fact]
    public void NearTissueCentresFindHolesInsideTissue()
    {
        // A tissue slab with a small hole (a "trachea"), plus a lot of far resin.
        var shape = new Shape3(40, 40, 40);
        var lab = new Volume<byte>(shape);
        for (int z = 0; z < 12; z++) for (int y = 0; y < 40; y++) for (int x = 0; x < 40; x++) lab[z, y, x] = 1;
        for (int z = 2; z < 10; z++) for (int y = 14; y < 26; y++) for (int x = 14; x < 26; x++) lab[z, y, x] = 0;
        var sampler = new PatchSampler([new TrainingVolume(new Volume<float>(shape), lab)], (0, 0, 0, 1));
        var rng = new TrainingRandom(2);
        var p = new Shape3(4, 4, 4);
        float[] i = new float[p.Length], l = new float[p.Length], w = new float[p.Length];
        bool hole = false;
        for (int k = 0; k < 200; k++)
        {
            var (_, c) = sampler.Sample(rng, p, i, l, w);
            Assert.Equal(0, lab[c.Z, c.Y, c.X]);
            Assert.InRange(c.Z, 0, 11 + PatchSampler.NearRadius); // within 8 voxels of the slab
            hole |= c.Z is >= 3 and <= 8 && c.Y is >= 15 and <= 24 && c.X is >= 15 and <= 24; // hole interior (not boundary)
        }
        Assert.True(hole, "no centre inside the hole");
    }

    [Fact]
    public void FocusCentresComeFromTheFocusMaskOnly()
    {
        // Focus weight only: every centre lies in the focus mask, a few voxels of a large volume.
        var shape = new Shape3(20, 20, 20);
        var lab = new Volume<byte>(shape);
        var focus = new Volume<byte>(shape);
        focus[3, 4, 5] = 1;
        focus[15, 16, 17] = 1;
        var sampler = new PatchSampler([new TrainingVolume(new Volume<float>(shape), lab, Focus: focus)], (0, 0, 0, 0), focus: 1);
        var rng = new TrainingRandom(4);
        var p = new Shape3(4, 4, 4);
        float[] i = new float[p.Length], l = new float[p.Length], w = new float[p.Length];
        var seen = new HashSet<Shape3>();
        for (int k = 0; k < 40; k++)
        {
            var (_, c) = sampler.Sample(rng, p, i, l, w);
            Assert.Equal(1, focus[c.Z, c.Y, c.X]);
            seen.Add(c);
        }
        Assert.Equal(2, seen.Count);
    }

    [Fact]
    public void FocusWeightZeroKeepsTheOldSequence()
    {
        // A focus mask with weight 0 changes nothing: same volumes, same seed, same centres as without the mask.
        var shape = new Shape3(12, 12, 12);
        var lab = new Volume<byte>(shape);
        for (int z = 0; z < 6; z++) for (int y = 0; y < 12; y++) for (int x = 0; x < 12; x++) lab[z, y, x] = 1;
        var focus = new Volume<byte>(shape);
        focus[9, 9, 9] = 1;
        var plain = new PatchSampler([new TrainingVolume(new Volume<float>(shape), lab)], (1, 1, 1, 1));
        var withFocus = new PatchSampler([new TrainingVolume(new Volume<float>(shape), lab, Focus: focus)], (1, 1, 1, 1), focus: 0);
        var r1 = new TrainingRandom(5);
        var r2 = new TrainingRandom(5);
        var p = new Shape3(4, 4, 4);
        float[] i = new float[p.Length], l = new float[p.Length], w = new float[p.Length];
        for (int k = 0; k < 30; k++)
        {
            Assert.Equal(plain.Sample(r1, p, i, l, w), withFocus.Sample(r2, p, i, l, w));
        }
    }

    [Fact]
    public void DownsampledVolumeAveragesImageAndTakesMajorityLabels()
    {
        var shape = new Shape3(4, 4, 5); // x = 5: a partial block at the far edge
        var img = new Volume<float>(shape, new VoxelSize(16, 16, 16));
        var lab = new Volume<byte>(shape);
        var focus = new Volume<byte>(shape);
        var region = new Volume<byte>(shape);
        region.Span.Fill(1);
        for (int k = 0; k < shape.Length; k++) img.Span[k] = k;
        // Block (0,0,0): 4 of 8 tissue, even parity -> 1; block (0,0,1): 3 of 8 -> 0; the edge block (x = 4) 2 of 4,
        // even -> 1; block (0,1,0): 4 of 8, odd parity -> 0.
        lab[0, 0, 0] = lab[0, 0, 1] = lab[0, 1, 0] = lab[1, 1, 1] = 1;
        lab[0, 2, 0] = lab[0, 2, 1] = lab[0, 3, 0] = lab[1, 3, 1] = 1;
        lab[0, 0, 2] = lab[1, 0, 3] = lab[1, 1, 2] = 1;
        lab[0, 0, 4] = lab[1, 1, 4] = 1;
        focus[3, 3, 3] = 1;
        region[2, 2, 0] = 0;
        var d = new TrainingVolume(img, lab, region, "v", focus).Downsampled(2);
        Assert.Equal(new Shape3(2, 2, 3), d.Image.Shape);
        Assert.Equal(new VoxelSize(32, 32, 32), d.Image.VoxelSize);
        Assert.Equal("v@2x", d.Name);
        Assert.Equal(new byte[] { 1, 0, 1 }, new[] { d.Labels[0, 0, 0], d.Labels[0, 0, 1], d.Labels[0, 0, 2] });
        Assert.Equal(0, d.Labels[0, 1, 0]);
        Assert.Equal(1, d.Focus![1, 1, 1]);
        Assert.Equal(1, d.Focus.Span.ToArray().Sum(b => b));
        Assert.Equal(0, d.LabelledRegion![1, 1, 0]);
        Assert.Equal(d.LabelledRegion.Span.Length - 1, d.LabelledRegion.Span.ToArray().Sum(b => b));
        // Mean of block (0,0,0): voxels (z,y,x) in {0,1}^3 -> indices z*20 + y*5 + x.
        float expected = new[] { 0, 1, 5, 6, 20, 21, 25, 26 }.Average(v => (float)v);
        Assert.Equal(expected, d.Image[0, 0, 0], 5);
        Assert.Equal(new[] { 4, 9, 24, 29 }.Average(v => (float)v), d.Image[0, 0, 2], 5); // the partial edge block
        d.Validate("d");
    }

    [Fact]
    public void DownsampledTiesSplitEvenlyBetweenTissueAndNonBrain()
    {
        // Every 2x2x2 block is half tissue (x even): a one-way tie-break would label all 32 blocks alike.
        var shape = new Shape3(4, 8, 8);
        var img = new Volume<float>(shape);
        var lab = new Volume<byte>(shape);
        for (int z = 0; z < 4; z++)
            for (int y = 0; y < 8; y++)
                for (int x = 0; x < 8; x += 2)
                    lab[z, y, x] = 1;
        var d = new TrainingVolume(img, lab).Downsampled(2);
        Assert.Equal(16, d.Labels.Span.ToArray().Sum(b => b));
        Assert.Equal(1, d.Labels[0, 0, 0]);
        Assert.Equal(0, d.Labels[0, 0, 1]);
    }

    [Fact]
    public void LabelledRegionLimitsWeightsAndSmallVolumesArePadded()
    {
        var shape = new Shape3(4, 6, 6);
        var img = new Volume<float>(shape);
        img.Span.Fill(0.5f);
        var lab = new Volume<byte>(shape);
        var region = new Volume<byte>(shape);
        region[1, 2, 3] = 1;
        var sampler = new PatchSampler([new TrainingVolume(img, lab, region)], (1, 1, 1, 1));
        var p = new Shape3(8, 8, 8); // larger than the volume
        float[] i = new float[p.Length], l = new float[p.Length], w = new float[p.Length];
        sampler.Sample(new TrainingRandom(3), p, i, l, w);
        Assert.Equal(1f, w.Sum());                    // only the one labelled voxel weighs
        Assert.Equal(0.5f * shape.Length, i.Sum(), 3); // the whole volume inside, zero padding around
    }

    [Fact]
    public void GeometricAugmentationMovesImageLabelAndWeightTogether()
    {
        var p = new Shape3(6, 8, 8);
        var rng = new TrainingRandom(7);
        var aug = new PatchAugmenter(AugmentationOptions.Default with
        {
            IntensityProbability = 0, InvertProbability = 0, NoiseProbability = 0, BlurProbability = 0,
        }, p);
        var src = Enumerable.Range(0, (int)p.Length).Select(k => (float)((k * 7919) % 101)).ToArray();
        for (int t = 0; t < 20; t++)
        {
            float[] i = (float[])src.Clone(), l = (float[])src.Clone(), w = (float[])src.Clone();
            aug.Apply(rng, i, l, w);
            Assert.Equal(i, l);
            Assert.Equal(i, w);
            Assert.Equal(src.Order(), i.Order()); // a permutation of the voxels
        }
    }

    [Fact]
    public void InversionAndIntensityChangeOnlyTheImage()
    {
        var p = new Shape3(4, 4, 4);
        var aug = new PatchAugmenter(AugmentationOptions.None with { InvertProbability = 1 }, p);
        float[] i = Enumerable.Repeat(0.25f, (int)p.Length).ToArray(), l = new float[p.Length], w = Enumerable.Repeat(1f, (int)p.Length).ToArray();
        aug.Apply(new TrainingRandom(1), i, l, w);
        Assert.All(i, v => Assert.Equal(0.75f, v));
        Assert.All(l, v => Assert.Equal(0f, v));
        Assert.All(w, v => Assert.Equal(1f, v));
    }

    [Fact]
    public void RandomStateRoundTrips()
    {
        var a = new TrainingRandom(5);
        a.NextUInt64();
        var b = new TrainingRandom(0) { State = a.State };
        Assert.Equal(a.NextUInt64(), b.NextUInt64());
        Assert.InRange(Enumerable.Range(0, 1000).Select(_ => a.Next(3)).Distinct().Count(), 3, 3);
    }
}

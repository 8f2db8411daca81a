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

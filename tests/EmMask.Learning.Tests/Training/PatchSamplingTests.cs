using EmMask.Core.Volumes;
using EmMask.Learning.Training;

namespace EmMask.Learning.Tests.Training;

public class PatchSamplingTests
{
    [Fact]
    public void CentresAreBalancedBetweenTissueResinAndBoundary()
    {
        // 2% tissue: uniform sampling would almost never centre on it.
        var shape = new Shape3(20, 20, 20);
        var img = new Volume<float>(shape);
        var lab = new Volume<byte>(shape);
        for (int z = 9; z < 11; z++) for (int y = 5; y < 15; y++) for (int x = 5; x < 13; x++) lab[z, y, x] = 1;
        var sampler = new PatchSampler([new TrainingVolume(img, lab)], (1, 0, 0)); // tissue centres only
        var rng = new TrainingRandom(1);
        var p = new Shape3(4, 4, 4);
        float[] i = new float[p.Length], l = new float[p.Length], w = new float[p.Length];
        int centreTissue = 0;
        for (int k = 0; k < 50; k++)
        {
            sampler.Sample(rng, p, i, l, w);
            if (l[(int)p.Index(2, 2, 2)] == 1 || l.Contains(1f)) centreTissue++;
        }
        Assert.Equal(50, centreTissue);
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
        var sampler = new PatchSampler([new TrainingVolume(img, lab, region)], (1, 1, 1));
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

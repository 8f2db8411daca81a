using EmMask.Core.Volumes;
using EmMask.Learning.Training;

namespace EmMask.Learning.Tests.Training;

public class PatchDrawerTests
{
    private static readonly Shape3 Patch = new(8, 8, 8);

    [Fact]
    public void WithoutOwnPresetsTheDrawsAreThoseOfTheTrainerBefore()
    {
        // The trainer's earlier sequence, written out: zoom chance (and factor), sampler (volume, kind, centre), augmenter.
        var volumes = new[] { SyntheticVolumes.Ball(16, 1), SyntheticVolumes.Ball(16, 2, invert: true) };
        var run = AugmentationOptions.RealEm;
        var sampler = new PatchSampler(volumes, (1, 1, 1, 1));
        var drawer = new PatchDrawer(sampler, volumes, run, Patch);
        var augmenter = new PatchAugmenter(run, Patch);
        var zoomer = new PatchZoom();
        TrainingRandom r1 = new(9), r2 = new(9);
        float[] i1 = new float[Patch.Length], l1 = new float[Patch.Length], w1 = new float[Patch.Length];
        float[] i2 = new float[Patch.Length], l2 = new float[Patch.Length], w2 = new float[Patch.Length];
        for (int k = 0; k < 40; k++)
        {
            drawer.Draw(r1, i1, l1, w1);
            if (r2.Chance(run.ZoomProbability))
            {
                double zoom = Math.Exp(r2.Uniform(Math.Log(run.Zoom.Item1), Math.Log(run.Zoom.Item2)));
                zoomer.Sample(sampler, r2, Patch, zoom, i2, l2, w2);
            }
            else
            {
                sampler.Sample(r2, Patch, i2, l2, w2);
            }

            augmenter.Apply(r2, i2, l2, w2);
            Assert.Equal(i2, i1);
            Assert.Equal(l2, l1);
            Assert.Equal(w2, w1);
        }
    }

    [Fact]
    public void AVolumesOwnPresetReplacesTheRunsForItsPatches()
    {
        // The run inverts every patch; the first volume's own preset does nothing, so its patches are raw copies.
        var plain = SyntheticVolumes.Ball(16, 1) with { Augmentation = AugmentationOptions.None };
        var other = SyntheticVolumes.Ball(16, 2);
        var run = AugmentationOptions.None with { InvertProbability = 1 };
        var volumes = new[] { plain, other };
        var sampler = new PatchSampler(volumes, (1, 1, 1, 1));
        var drawer = new PatchDrawer(sampler, volumes, run, Patch);
        var rng = new TrainingRandom(3);
        float[] image = new float[Patch.Length], label = new float[Patch.Length], weight = new float[Patch.Length];
        int seen0 = 0, seen1 = 0;
        for (int k = 0; k < 40; k++)
        {
            var replay = new TrainingRandom(0) { State = rng.State };
            int vi = drawer.Draw(rng, image, label, weight);
            // The same draw without augmentation: the raw patch of the same volume and centre.
            float[] raw = new float[Patch.Length], l = new float[Patch.Length], w = new float[Patch.Length];
            Assert.Equal(vi, new PatchSampler(volumes, (1, 1, 1, 1)).Sample(replay, Patch, raw, l, w).Volume);
            if (vi == 0)
            {
                seen0++;
                Assert.Equal(raw, image);
            }
            else
            {
                seen1++;
                Assert.Equal(raw.Select(v => 1f - v), image);
            }
        }

        Assert.True(seen0 > 5 && seen1 > 5, $"patches per volume: {seen0} / {seen1}");
    }

    [Fact]
    public void AVolumeWithoutZoomInItsPresetIsNeverZoomed()
    {
        // Zoom 0.5 on every patch of the run shows the ball twice as large; the phantom-like volume keeps its scale.
        var volume = SyntheticVolumes.Ball(16, 1) with { Augmentation = AugmentationOptions.None };
        var run = AugmentationOptions.None with { ZoomProbability = 1, Zoom = (0.5, 0.5) };
        var sampler = new PatchSampler([volume], (1, 1, 1, 1));
        var drawer = new PatchDrawer(sampler, [volume], run, Patch);
        var rng = new TrainingRandom(4);
        float[] image = new float[Patch.Length], label = new float[Patch.Length], weight = new float[Patch.Length];
        for (int k = 0; k < 20; k++)
        {
            var state = rng.State;
            drawer.Draw(rng, image, label, weight);
            var replay = new TrainingRandom(0) { State = state };
            Assert.True(replay.Chance(1));
            replay.Uniform(Math.Log(0.5), Math.Log(0.5));
            float[] raw = new float[Patch.Length], l = new float[Patch.Length], w = new float[Patch.Length];
            sampler.Sample(replay, Patch, raw, l, w);
            Assert.Equal(raw, image);
        }
    }
}

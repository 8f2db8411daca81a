using EmMask.Core.Volumes;
using EmMask.Learning.Training;

namespace EmMask.Learning.Tests.Training;

public class PatchZoomTests
{
    [Fact]
    public void ResamplingToTheSameShapeCopies()
    {
        var s = new Shape3(3, 4, 5);
        float[] source = Enumerable.Range(0, (int)s.Length).Select(i => (float)(i * 0.37 % 1)).ToArray();
        var linear = new float[s.Length];
        var nearest = new float[s.Length];
        PatchZoom.Resample(source, s, linear, s, linear: true);
        PatchZoom.Resample(source, s, nearest, s, linear: false);
        Assert.Equal(source, linear);
        Assert.Equal(source, nearest);
    }

    [Fact]
    public void LinearResamplingFollowsARampAndNearestKeepsLabels()
    {
        // A ramp along x over 8 voxels, resampled to 4 (zoom 2: voxel centres 0.5, 2.5, 4.5, 6.5) and to 16 (zoom 0.5).
        var from = new Shape3(1, 1, 8);
        float[] ramp = Enumerable.Range(0, 8).Select(i => (float)i).ToArray();
        var down = new float[4];
        PatchZoom.Resample(ramp, from, down, new Shape3(1, 1, 4), linear: true);
        Assert.Equal(new[] { 0.5f, 2.5f, 4.5f, 6.5f }, down);
        var up = new float[16];
        PatchZoom.Resample(ramp, from, up, new Shape3(1, 1, 16), linear: true);
        Assert.Equal(0f, up[0]); // clamped at the edge
        Assert.Equal(0.25f, up[1], 5); // centre (1.5 * 8 / 16) - 0.5
        Assert.Equal(7f, up[15]);

        float[] labels = [0, 0, 0, 1, 1, 1, 1, 1];
        var labelsUp = new float[16];
        PatchZoom.Resample(labels, from, labelsUp, new Shape3(1, 1, 16), linear: false);
        Assert.All(labelsUp, v => Assert.True(v is 0f or 1f));
        Assert.Equal(10, labelsUp.Count(v => v == 1f)); // the boundary stays at 3/8 of the axis
    }

    [Fact]
    public void ZoomedPatchesShowTheSameBallLargerOrSmaller()
    {
        // The ball's tissue fraction in a patch centred on it grows when zoomed in (zoom < 1) and shrinks when zoomed out.
        var ball = SyntheticVolumes.Ball(48, 1);
        var sampler = new PatchSampler([ball], (1, 0, 0, 0)); // tissue centres only
        var patch = new Shape3(16, 16, 16);
        double Fraction(double zoom)
        {
            var rng = new TrainingRandom(7);
            float[] i = new float[patch.Length], l = new float[patch.Length], w = new float[patch.Length];
            double sum = 0;
            for (int k = 0; k < 20; k++)
            {
                new PatchZoom().Sample(sampler, rng, patch, zoom, i, l, w);
                Assert.All(l, v => Assert.True(v is 0f or 1f));
                sum += l.Average();
            }

            return sum / 20;
        }

        double small = Fraction(0.5), plain = Fraction(1), large = Fraction(2.5);
        Assert.True(small > plain && plain > large, $"tissue fraction at zoom 0.5 / 1 / 2.5: {small:F3} / {plain:F3} / {large:F3}");
    }

    [Fact]
    public void ZoomOptionsAreValidatedAndTrainingWithZoomRepeats()
    {
        var dir = Directory.CreateTempSubdirectory("emmask-zoom-");
        try
        {
            var o = new TrainingOptions
            {
                Volumes = [SyntheticVolumes.Ball(24, 1), SyntheticVolumes.Ball(24, 2)],
                OutputDirectory = dir.FullName,
                Model = new EmMask.Learning.Models.UNetConfig(3, 1, 1, [4, 8, 16], [2, 2], 1, 3, 3, 0),
                Patch = new Shape3(16, 16, 16),
                BatchSize = 2,
                Steps = 3,
                Seed = 5,
                Threads = 1,
                Augmentation = AugmentationOptions.Default with { ZoomProbability = 1, Zoom = (0.5, 1.5) },
            };
            Assert.Throws<ArgumentOutOfRangeException>(() => UNetTrainer.Train(o with { Augmentation = o.Augmentation with { ZoomProbability = 1.5 } }));
            Assert.Throws<ArgumentOutOfRangeException>(() => UNetTrainer.Train(o with { Augmentation = o.Augmentation with { Zoom = (0, 1) } }));
            var losses = new List<double>();
            UNetTrainer.Train(o, new Sync(p => losses.Add(p.Loss)));
            var again = new List<double>();
            UNetTrainer.Train(o with { OutputDirectory = Path.Combine(dir.FullName, "again") }, new Sync(p => again.Add(p.Loss)));
            Assert.Equal(3, losses.Count);
            Assert.Equal(losses, again);
            Assert.All(losses, l => Assert.True(double.IsFinite(l)));
        }
        finally { dir.Delete(true); }
    }

    private sealed class Sync(Action<TrainingProgress> f) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => f(value);
    }
}

using EmMask.Core.Masking;
using EmMask.Core.Volumes;

namespace EmMask.Core.Tests.Masking;

/// <summary>Signal-dependent noise becomes uniform; uniform noise is left alone.</summary>
public class VarianceStabilizerTests
{
    [Fact]
    public void TheNoiseLevelFunctionNeedsFifteenPatchesPerBin()
    {
        // One row of 16×16 patches (plus the 2-voxel surround): 149 patches are too few, 150 are enough.
        static PatchStatistics Row(int patches)
        {
            var v = new Volume<float>(new Shape3(1, 20, 4 + (16 * patches)));
            var random = new Random(12);
            var s = v.Span;
            for (int i = 0; i < s.Length; i++)
            {
                s[i] = (float)(0.5 + (0.05 * Gaussian(random)));
            }

            return PatchStatistics.Measure(v, null);
        }

        Assert.Equal(VarianceStabilizer.MinimumPatches - 1, Row(149).Count);
        Assert.Null(VarianceStabilizer.NoiseLevelFunction(Row(149)));
        Assert.NotNull(VarianceStabilizer.NoiseLevelFunction(Row(150)));
    }

    [Fact]
    public void ShotNoiseBecomesUniform()
    {
        // Intensity ramps from 0.05 to 1 across x; noise σ = 0.05·√intensity (shot noise).
        var v = new Volume<float>(new Shape3(1, 256, 256));
        var random = new Random(11);
        for (int y = 0; y < 256; y++)
        {
            for (int x = 0; x < 256; x++)
            {
                double mean = 0.05 + (0.95 * x / 255.0);
                v[0, y, x] = (float)(mean + (0.05 * Math.Sqrt(mean) * Gaussian(random)));
            }
        }

        double before = Ratio(v);
        var patches = PatchStatistics.Measure(v, null);
        Assert.True(VarianceStabilizer.Apply(v, patches));
        double after = Ratio(v);
        Assert.True(before > 2, $"noise ratio bright/dark before: {before}");
        Assert.InRange(after, 0.75, 1.33);
    }

    [Fact]
    public void UniformNoiseIsLeftAlone()
    {
        var v = TexturePyramid.Simulate(new Shape3(1, 256, 256), new NoiseModel(1, 0), 12);
        for (int x = 0; x < 256; x++)
        {
            for (int y = 0; y < 256; y++)
            {
                v[0, y, x] += x / 10f;
            }
        }

        var copy = v.Clone();
        Assert.False(VarianceStabilizer.Apply(v, PatchStatistics.Measure(v, null)));
        Assert.Equal(copy.Span.ToArray(), v.Span.ToArray());
    }

    // Noise (std of horizontal differences) in the right quarter over the left quarter.
    private static double Ratio(Volume<float> v)
    {
        double Std(int x0, int x1)
        {
            var d = new List<double>();
            for (int y = 0; y < 256; y++)
            {
                for (int x = x0; x < x1 - 1; x++)
                {
                    d.Add(v[0, y, x + 1] - v[0, y, x]);
                }
            }

            double m = d.Average();
            return Math.Sqrt(d.Sum(e => (e - m) * (e - m)) / d.Count);
        }

        return Std(192, 256) / Std(0, 64);
    }

    private static double Gaussian(Random r) => Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());
}

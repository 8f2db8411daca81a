using EmMask.Core.Filters;
using EmMask.Core.Masking;
using EmMask.Core.Volumes;

namespace EmMask.Core.Tests.Masking;

/// <summary>The noise model recovers the strength and correlation of simulated noise, and ignores padding.</summary>
public class NoiseModelTests
{
    [Theory]
    [InlineData(0.0)]
    [InlineData(0.5)]
    [InlineData(0.7)]
    [InlineData(1.0)]
    public void RecoversSigmaAndCorrelationOfBlurredNoise(double correlation)
    {
        var noise = TexturePyramid.Simulate(new Shape3(2, 256, 256), new NoiseModel(2.0, correlation), 7);
        var model = NoiseModel.Estimate(noise);
        // (A sampled Gaussian of σ below about 0.4 is nearly the identity, so the blur is measurable from about 0.4 on.)
        Assert.InRange(model.Correlation, correlation - 0.1, correlation + 0.1);
        Assert.InRange(model.WhiteSigma, 2.0 * 0.9, 2.0 * 1.1);
    }

    [Fact]
    public void ScalesWithTheImage()
    {
        var noise = TexturePyramid.Simulate(new Shape3(1, 256, 256), new NoiseModel(1.0, 0.4), 8);
        var a = NoiseModel.Estimate(noise);
        System.Numerics.Tensors.TensorPrimitives.Multiply(noise.Span, 5f, noise.Span);
        var b = NoiseModel.Estimate(noise);
        Assert.Equal(a.Correlation, b.Correlation, 6);
        Assert.Equal(5 * a.WhiteSigma, b.WhiteSigma, 4);
    }

    [Fact]
    public void PaddingIsLeftOut()
    {
        var noise = TexturePyramid.Simulate(new Shape3(1, 256, 256), new NoiseModel(1.0, 0.0), 9);
        var valid = noise.Like<byte>();
        var v = valid.Span;
        for (int i = 0; i < v.Length; i++)
        {
            bool left = i % 256 < 128;
            v[i] = left ? (byte)1 : (byte)0;
            if (!left)
            {
                noise.Span[i] = 0; // exact zeros would pull the estimate down
            }
        }

        Assert.InRange(NoiseModel.Estimate(noise, valid).WhiteSigma, 0.9, 1.1);
    }

    [Fact]
    public void RatioTableIsMonotoneAndInverted()
    {
        double previous = 0;
        for (double c = 0.2; c <= 2; c += 0.1)
        {
            double r = NoiseModel.DilatedRatio(c);
            Assert.True(r > previous);
            previous = r;
            Assert.Equal(c, NoiseModel.CorrelationFromRatio(r), 2);
        }
    }
}

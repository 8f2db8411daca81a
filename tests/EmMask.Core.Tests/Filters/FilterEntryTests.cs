using EmMask.Core.Filters;
using EmMask.Core.Volumes;
using static EmMask.Core.Tests.Filters.FilterTestData;

namespace EmMask.Core.Tests.Filters;

/// <summary>Sigma3, the reflect rule and the argument checks of the filters built on the Gaussian.</summary>
public class FilterEntryTests
{
    [Fact]
    public void ReflectMatchesScipyOnAThreeSampleLine()
    {
        // From scipy.ndimage.correlate1d([1, 2, 3], shifted impulses, mode='reflect'): offsets -10..10 at sample 0.
        int[] expected = [2, 2, 1, 0, 0, 1, 2, 2, 1, 0, 0, 1, 2, 2, 1, 0, 0, 1, 2, 2, 1];
        for (int i = -10; i <= 10; i++)
        {
            Assert.Equal(expected[i + 10], Reflect.Index(i, 3));
            Assert.Equal(expected[i + 10], MirrorIndex(i, 3));
        }

        for (int i = -7; i < 9; i++)
        {
            Assert.Equal(0, Reflect.Index(i, 1));
        }
    }

    [Fact]
    public void Sigma3FromPhysicalDividesBySpacing()
    {
        Assert.Equal(new Sigma3(2, 8, 8), Sigma3.FromPhysical(32, new VoxelSize(16, 4, 4)));
        Assert.Equal(new Sigma3(1.5, 1.5, 1.5), Sigma3.Isotropic(1.5));
        Assert.Equal("sigma", Assert.Throws<ArgumentOutOfRangeException>(() => Sigma3.FromPhysical(-1, VoxelSize.Isotropic)).ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => Sigma3.FromPhysical(1, new VoxelSize(0, 1, 1)));
    }

    [Fact]
    public void KernelRadiusFollowsScipy()
    {
        Assert.Equal(8, GaussianKernel.RadiusFor(2.0, 4.0));
        Assert.Equal(4, GaussianKernel.RadiusFor(1.0, 4.0));
        Assert.Equal(3, GaussianKernel.RadiusFor(0.7, 4.0)); // int(3.3)
        Assert.Equal(0, GaussianKernel.RadiusFor(0.1, 4.0)); // int(0.9)
        Assert.Equal(3, GaussianKernel.RadiusFor(1.0, 2.5)); // int(3.0)
    }

    [Fact]
    public void DifferenceOfGaussiansIsTheDifferenceOfTwoGaussians()
    {
        var source = Random(new Shape3(10, 12, 30), 2);
        var dog = source.Like<float>();
        DifferenceOfGaussians.Apply(source, dog, Sigma3.Isotropic(1), new Sigma3(2, 3, 4));
        var low = source.Like<float>();
        var high = source.Like<float>();
        GaussianFilter.Apply(source, low, Sigma3.Isotropic(1));
        GaussianFilter.Apply(source, high, new Sigma3(2, 3, 4));
        for (int i = 0; i < dog.Span.Length; i++)
        {
            Assert.Equal(low.Span[i] - high.Span[i], dog.Span[i]);
        }
    }

    [Fact]
    public void GradientMagnitudeOfARampIsItsSlope()
    {
        var shape = new Shape3(20, 20, 20);
        var ramp = new Volume<float>(shape);
        for (int z = 0; z < 20; z++)
        {
            for (int y = 0; y < 20; y++)
            {
                for (int x = 0; x < 20; x++)
                {
                    ramp[z, y, x] = (3f * z) + (4f * x);
                }
            }
        }

        var magnitude = ramp.Like<float>();
        GaussianGradientMagnitude.Apply(ramp, magnitude, Sigma3.Isotropic(1));
        float expected = (float)(5 * GaussianFilterTests.FirstMoment(1.0));
        Assert.Equal(expected, magnitude[10, 10, 10], 1e-4f);
        Assert.Equal(expected, magnitude[6, 3, 13], 1e-4f);
    }

    [Fact]
    public void LocalStatisticsOfAConstantHaveZeroVariance()
    {
        var volume = new Volume<float>(new Shape3(5, 9, 17));
        volume.Span.Fill(200f);
        var mean = volume.Like<float>();
        var variance = volume.Like<float>();
        LocalStatistics.Compute(volume, Sigma3.Isotropic(2), mean, variance);
        foreach (float m in mean.Span)
        {
            Assert.Equal(200f, m, 1e-2f);
        }

        foreach (float v in variance.Span)
        {
            Assert.InRange(v, 0f, 0.1f);
        }
    }

    [Fact]
    public void BadArgumentsNameTheParameter()
    {
        var a = new Volume<float>(new Shape3(2, 3, 4));
        var b = new Volume<float>(new Shape3(3, 3, 4));
        Assert.Equal("destination", Assert.Throws<ArgumentException>(() => DifferenceOfGaussians.Apply(a, b, Sigma3.Isotropic(1), Sigma3.Isotropic(2))).ParamName);
        Assert.Equal("low", Assert.Throws<ArgumentOutOfRangeException>(() => DifferenceOfGaussians.Apply(a, a, Sigma3.Isotropic(-1), Sigma3.Isotropic(2))).ParamName);
        Assert.Equal("high", Assert.Throws<ArgumentOutOfRangeException>(() => DifferenceOfGaussians.Apply(a, a, Sigma3.Isotropic(1), Sigma3.Isotropic(double.NaN))).ParamName);

        Assert.Equal("destination", Assert.Throws<ArgumentException>(() => GaussianGradientMagnitude.Apply(a, b, Sigma3.Isotropic(1))).ParamName);
        Assert.Equal("sigma", Assert.Throws<ArgumentOutOfRangeException>(() => GaussianGradientMagnitude.Apply(a, a, new Sigma3(0, 1, 1))).ParamName);
        Assert.Equal("sigma", Assert.Throws<ArgumentOutOfRangeException>(() => GaussianGradientMagnitude.Apply(a, a, new Sigma3(1, double.NaN, 1))).ParamName);

        Assert.Equal("mean", Assert.Throws<ArgumentException>(() => LocalStatistics.Compute(a, Sigma3.Isotropic(1), b, a.Like<float>())).ParamName);
        Assert.Equal("variance", Assert.Throws<ArgumentException>(() => LocalStatistics.Compute(a, Sigma3.Isotropic(1), a.Like<float>(), b)).ParamName);
        var shared = a.Like<float>();
        Assert.Equal("variance", Assert.Throws<ArgumentException>(() => LocalStatistics.Compute(a, Sigma3.Isotropic(1), shared, shared)).ParamName);
        Assert.Equal("sigma", Assert.Throws<ArgumentOutOfRangeException>(() => LocalStatistics.Compute(a, new Sigma3(1, 1, -2), a.Like<float>(), a.Like<float>())).ParamName);
    }
}

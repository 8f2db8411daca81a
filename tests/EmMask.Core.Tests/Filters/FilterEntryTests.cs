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
    public void GradientMagnitudeDoesNotDependOnThreadCountAndMatchesThreeDerivatives()
    {
        var source = Random(new Shape3(11, 26, 37), 8);
        var sigma = new Sigma3(1.2, 0.8, 1.9);
        var serial = source.Like<float>();
        using (ParallelLines.LimitDegree(1))
        {
            GaussianGradientMagnitude.Apply(source, serial, sigma);
        }

        var parallel = source.Like<float>();
        using (ParallelLines.LimitDegree(3))
        {
            GaussianGradientMagnitude.Apply(source, parallel, sigma);
        }

        AssertIdentical(serial, parallel);

        // The fused sweep must equal the definition: three GaussianFilter derivatives, squared and summed.
        var dz = source.Like<float>();
        var dy = source.Like<float>();
        var dx = source.Like<float>();
        GaussianFilter.Apply(source, dz, sigma, (1, 0, 0));
        GaussianFilter.Apply(source, dy, sigma, (0, 1, 0));
        GaussianFilter.Apply(source, dx, sigma, (0, 0, 1));
        for (int i = 0; i < serial.Span.Length; i++)
        {
            float sum = dz.Span[i] * dz.Span[i];
            sum += dy.Span[i] * dy.Span[i];
            sum += dx.Span[i] * dx.Span[i];
            Assert.Equal(MathF.Sqrt(sum), serial.Span[i]);
        }
    }

    public static TheoryData<int, double, double> PairedCases() => new()
    {
        { 9, 1.0, 2.0 },   // fused 3D
        { 1, 1.0, 2.0 },   // a 2D image: the z kernels drop out
        { 4, 0.0, 1.5 },   // σ.Z = 0 for one channel only
        { 3, 0.0, 0.0 },   // nothing to filter on some axes
    };

    [Theory]
    [MemberData(nameof(PairedCases))]
    public void PairedFiltersEqualSeparateGaussiansInAndOutOfPlace(int z, double lowZ, double highZ)
    {
        var source = Random(new Shape3(z, 19, 21), z);
        var low = new Sigma3(lowZ, 1.0, lowZ == 0 ? 0 : 1.3);
        var high = new Sigma3(highZ, 2.2, 1.7);
        var gLow = source.Like<float>();
        var gHigh = source.Like<float>();
        GaussianFilter.Apply(source, gLow, low);
        GaussianFilter.Apply(source, gHigh, high);

        var dog = source.Like<float>();
        DifferenceOfGaussians.Apply(source, dog, low, high);
        var inPlace = source.Clone();
        DifferenceOfGaussians.Apply(inPlace, inPlace, low, high);
        for (int i = 0; i < dog.Span.Length; i++)
        {
            Assert.Equal(gLow.Span[i] - gHigh.Span[i], dog.Span[i]);
        }

        AssertIdentical(dog, inPlace);

        // Local statistics with every aliasing the API allows give the same numbers.
        var squares = source.Clone();
        System.Numerics.Tensors.TensorPrimitives.Multiply(source.Span, source.Span, squares.Span);
        var gSquares = source.Like<float>();
        GaussianFilter.Apply(squares, gSquares, high);
        GaussianFilter.Apply(source, gHigh, high);
        var mean = source.Like<float>();
        var variance = source.Like<float>();
        LocalStatistics.Compute(source, high, mean, variance);
        AssertIdentical(gHigh, mean);
        for (int i = 0; i < variance.Span.Length; i++)
        {
            float m = gHigh.Span[i];
            Assert.Equal(MathF.Max(gSquares.Span[i] - (m * m), 0f), variance.Span[i]);
        }

        var asMean = source.Clone();
        var otherVariance = source.Like<float>();
        LocalStatistics.Compute(asMean, high, asMean, otherVariance);
        AssertIdentical(mean, asMean);
        AssertIdentical(variance, otherVariance);
        var asVariance = source.Clone();
        var otherMean = source.Like<float>();
        LocalStatistics.Compute(asVariance, high, otherMean, asVariance);
        AssertIdentical(mean, otherMean);
        AssertIdentical(variance, asVariance);

        var unfiltered = source.Clone();
        var plainMean = source.Like<float>();
        LocalStatistics.Compute(unfiltered, Sigma3.Isotropic(0), plainMean, unfiltered);
        AssertIdentical(source, plainMean);
        Assert.All(unfiltered.Span.ToArray(), v => Assert.Equal(0f, v));
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

using EmMask.Core.Filters;
using EmMask.Core.Volumes;

namespace EmMask.Core.Tests.Filters;

public class PairedGaussianTests
{
    [Theory]
    [InlineData(1, 30, 41)]
    [InlineData(9, 1, 17)]
    [InlineData(12, 23, 1)]
    [InlineData(33, 20, 37)]
    public void DifferenceAndLowEqualTheSeparateFilters(int z, int y, int x)
    {
        var shape = new Shape3(z, y, x);
        var source = FilterTestData.Random(shape, seed: z + y + x, scale: 1f);

        var original = source.Span.ToArray();
        var low = new Volume<float>(shape);
        var difference = new Volume<float>(shape);
        PairedGaussian.DifferenceAndLow(source, low, difference, Sigma3.Isotropic(1), Sigma3.Isotropic(2), CancellationToken.None);

        var expectedLow = new Volume<float>(shape);
        var expectedHigh = new Volume<float>(shape);
        GaussianFilter.Apply(source, expectedLow, Sigma3.Isotropic(1));
        GaussianFilter.Apply(source, expectedHigh, Sigma3.Isotropic(2));
        Assert.Equal(expectedLow.Span.ToArray(), low.Span.ToArray());
        for (int i = 0; i < difference.Span.Length; i++)
        {
            Assert.Equal(expectedLow.Span[i] - expectedHigh.Span[i], difference.Span[i]);
        }

        Assert.Equal(original, source.Span.ToArray());
    }

    [Fact]
    public void SharedOrMismatchedBuffersAreRefused()
    {
        var a = new Volume<float>(new Shape3(4, 5, 6));
        var b = new Volume<float>(new Shape3(4, 5, 6));
        Assert.Throws<ArgumentException>(() => PairedGaussian.DifferenceAndLow(a, a, b, Sigma3.Isotropic(1), Sigma3.Isotropic(2), CancellationToken.None));
        Assert.Throws<ArgumentException>(() => PairedGaussian.DifferenceAndLow(a, b, b, Sigma3.Isotropic(1), Sigma3.Isotropic(2), CancellationToken.None));
        Assert.Throws<ArgumentException>(() => PairedGaussian.DifferenceAndLow(a, b, new Volume<float>(new Shape3(4, 5, 7)), Sigma3.Isotropic(1), Sigma3.Isotropic(2), CancellationToken.None));
    }
}

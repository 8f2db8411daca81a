using EmMask.Core.Volumes;
using EmMask.Learning.Preprocessing;

namespace EmMask.Learning.Tests.Preprocessing;

public class IntensityNormalizationTests
{
    [Fact]
    public void PercentilesMatchNumpyLinear()
    {
        // numpy: np.percentile(np.arange(100), [1, 99]) == [0.99, 98.01]
        var v = Enumerable.Range(0, 100).Select(i => (float)i).Reverse().ToArray();
        var (lo, hi) = IntensityNormalization.Percentiles(v);
        Assert.Equal(0.99f, lo, 4);
        Assert.Equal(98.01f, hi, 4);
    }

    [Fact]
    public void MapsPercentilesToZeroAndOneWithoutClipping()
    {
        var v = Enumerable.Range(0, 100).Select(i => (float)i).ToArray();
        var d = new float[100];
        IntensityNormalization.Normalize(v, d);
        Assert.Equal(0f, d[1] - (1 - 0.99f) / 97.02f, 5);
        Assert.True(d[0] < 0 && d[99] > 1);
        Assert.Equal(0.5f, d[49] + (d[50] - d[49]) * 0.5f, 4);
    }

    [Fact]
    public void ConstantVolumeBecomesZeros()
    {
        var d = new float[10];
        IntensityNormalization.Normalize(Enumerable.Repeat(7f, 10).ToArray(), d);
        Assert.All(d, x => Assert.Equal(0f, x));
    }

    [Fact]
    public void UInt8AndFloatGiveTheSameResult()
    {
        var shape = new Shape3(2, 3, 5);
        var bytes = new Volume<byte>(shape, Enumerable.Range(0, 30).Select(i => (byte)(i * 8)).ToArray());
        var floats = new Volume<float>(shape, bytes.Span.ToArray().Select(b => (float)b).ToArray());
        Assert.Equal(IntensityNormalization.ToNormalizedFloat(floats).Span.ToArray(), IntensityNormalization.ToNormalizedFloat(bytes).Span.ToArray());
    }
}

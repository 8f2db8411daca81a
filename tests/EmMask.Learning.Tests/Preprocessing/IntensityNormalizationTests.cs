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

    [Fact]
    public void LostSectionsAreLeftOutOfAVolumesPercentiles()
    {
        // Sections 0 and 3 hold an image; 1 is blank (a lost section stored as zeros), 2 saturated, 4 all NaN.
        var shape = new Shape3(5, 4, 5);
        var values = new float[shape.Length];
        var image = new List<float>();
        for (int i = 0; i < values.Length; i++)
        {
            int z = i / shape.SliceLength;
            values[i] = z switch { 1 => 0f, 2 => 255f, 4 => float.NaN, _ => 40 + (i * 7 % 90) };
            if (z is 0 or 3)
            {
                image.Add(values[i]);
            }
        }

        var volume = new Volume<float>(shape, values);
        Assert.Equal([false, true, true, false, true], IntensityNormalization.LostSections(volume));
        var expected = IntensityNormalization.Percentiles(image.ToArray());
        Assert.Equal(expected, IntensityNormalization.Percentiles(volume));
        Assert.NotEqual(expected, IntensityNormalization.Percentiles(values)); // a bare span keeps them: 0 and 255 are its percentiles
        var bytes = new Volume<byte>(shape, values.Select(v => float.IsNaN(v) ? (byte)0 : (byte)v).ToArray());
        Assert.Equal(expected, IntensityNormalization.Percentiles(bytes));

        float first = values[0];
        IntensityNormalization.Normalize(volume); // in place (the volume wraps values)
        Assert.Equal((first - expected.Low) / (expected.High - expected.Low), volume.Span[0], 5);
    }

    [Fact]
    public void AVolumeWithoutLostSectionsKeepsItsPercentilesAndOneOfConstantSectionsKeepsAllItsValues()
    {
        var shape = new Shape3(3, 8, 8);
        var values = Enumerable.Range(0, (int)shape.Length).Select(i => (float)(i * 13 % 101)).ToArray();
        Assert.Equal(IntensityNormalization.Percentiles(values), IntensityNormalization.Percentiles(new Volume<float>(shape, values)));

        // Every section constant (5, 9, 9): none is left out, so the volume still maps 5 and 9 apart.
        var flat = new Volume<float>(shape, values.Select((_, i) => i < 64 ? 5f : 9f).ToArray());
        Assert.Equal([false, false, false], IntensityNormalization.LostSections(flat));
        var (low, high) = IntensityNormalization.Percentiles(flat);
        Assert.True(high > low, $"{low} .. {high}");
    }
}

using EmMask.Core.Inference;
using EmMask.Core.Volumes;

namespace EmMask.Core.Tests.Inference;

public class GaussianImportanceMapTests
{
    [Theory]
    [InlineData(16, 16, 16)]
    [InlineData(7, 12, 33)]
    [InlineData(1, 5, 2)]
    public void Map_is_symmetric_with_max_one_and_floor(int z, int y, int x)
    {
        var roi = new Shape3(z, y, x);
        var w = new GaussianImportanceMap(roi).Weights;

        Assert.Equal(1f, w.Span.ToArray().Max(), 6);
        Assert.True(w.Span.ToArray().Min() >= GaussianImportanceMap.DefaultMinimum);
        for (int iz = 0; iz < z; iz++)
        {
            for (int iy = 0; iy < y; iy++)
            {
                for (int ix = 0; ix < x; ix++)
                {
                    float v = w[iz, iy, ix];
                    Assert.Equal(v, w[z - 1 - iz, iy, ix]);
                    Assert.Equal(v, w[iz, y - 1 - iy, ix]);
                    Assert.Equal(v, w[iz, iy, x - 1 - ix]);
                }
            }
        }
    }

    [Fact]
    public void Matches_monai_formula_with_sigma_an_eighth_of_the_window()
    {
        // Odd axis: centre 1; offset d gives exp(-d^2 / (2 (0.125 n)^2)); corners clamp to 1e-3.
        var w = new GaussianImportanceMap(new Shape3(1, 1, 33)).Weights;
        double sigma = 0.125 * 33;
        Assert.Equal(1f, w[0, 0, 16]);
        Assert.Equal((float)Math.Exp(-25 / (2 * sigma * sigma)), w[0, 0, 21], 6);
        Assert.Equal(Math.Max((float)Math.Exp(-256 / (2 * sigma * sigma)), 1e-3f), w[0, 0, 0], 6);
    }

    [Fact]
    public void Rejects_bad_sigma()
    {
        Assert.Equal("sigmaScale", Assert.Throws<ArgumentOutOfRangeException>(() => new GaussianImportanceMap(new Shape3(2, 2, 2), 0)).ParamName);
    }
}

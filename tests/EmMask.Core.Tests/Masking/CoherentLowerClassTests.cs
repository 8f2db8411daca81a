using EmMask.Core.Masking;
using EmMask.Core.Volumes;

namespace EmMask.Core.Tests.Masking;

/// <summary>The lower class's largest region, the cue that lets textured resin separate below the main bar.</summary>
public class CoherentLowerClassTests
{
    [Fact]
    public void OneLargeRegionCountsAndScatteredPatchesDoNot()
    {
        // Left 40 % low (resin), the rest high with low 4x4 patches every 12 pixels (pale spots in tissue).
        var ratio = new Volume<float>(new Shape3(1, 200, 200));
        for (int y = 0; y < 200; y++)
        {
            for (int x = 0; x < 200; x++)
            {
                ratio[0, y, x] = x < 80 || (y % 12 < 4 && x % 12 < 4) ? 0f : 2f;
            }
        }

        double share = TexturePyramid.LargestLowerRegionShare(ratio, null, 1.0, 9, default);
        Assert.InRange(share, 0.38, 0.42); // the specks vanish under the majority pooling; the resin stays one region

        var scattered = ratio.Clone();
        for (int y = 0; y < 200; y++)
        {
            for (int x = 0; x < 80; x++)
            {
                scattered[0, y, x] = y % 12 < 4 && x % 12 < 4 ? 0f : 2f;
            }
        }

        Assert.True(TexturePyramid.LargestLowerRegionShare(scattered, null, 1.0, 9, default) < 0.01); // a corner patch, reflected, at most
    }

    [Fact]
    public void InvalidPixelsAreNeitherLowerClassNorPartOfTheImage()
    {
        // Exact-constant padding (invalid) on the left half would look like a low region; only valid pixels count.
        var ratio = new Volume<float>(new Shape3(1, 100, 200));
        var valid = new Volume<byte>(ratio.Shape);
        for (int y = 0; y < 100; y++)
        {
            for (int x = 0; x < 200; x++)
            {
                ratio[0, y, x] = x < 100 || x >= 150 ? 0f : 2f;
                valid[0, y, x] = x < 100 ? (byte)0 : (byte)1;
            }
        }

        // Valid: 100 columns, of which the last 50 are low: about half of the valid pixels.
        Assert.InRange(TexturePyramid.LargestLowerRegionShare(ratio, valid, 1.0, 9, default), 0.45, 0.52);
        Assert.Equal(0, TexturePyramid.LargestLowerRegionShare(new Volume<float>(new Shape3(2, 100, 100)), null, 1.0, 9, default)); // sections only
    }

    [Theory]
    // the vEMstitch overviews at level 0: weak splits of plain noise
    [InlineData(0.55, 0.82, true)]
    [InlineData(0.65, 1.08, true)]
    // too weak a split, or a lower class that is not plain noise (all-tissue ISBI / Platynereis sections: 1.36-1.46)
    [InlineData(0.45, 1.00, false)]
    [InlineData(0.65, 1.36, false)]
    public void TheNoiseLikeRouteNeedsPlainNoiseAndAtLeastAWeakSplit(double separability, double lowMedianRatio, bool expected)
    {
        Assert.Equal(expected, TexturePyramid.IsNoiseLikeWeakSplit(separability, Math.Log(lowMedianRatio)));
    }

    [Fact]
    public void ExactlyFlatPixelsLeaveTheThresholdSample()
    {
        // Resin averaged into one grey value has a ratio of about 0 (pure noise: about 1); those pixels go, the rest stay in order.
        float flat = (float)Math.Log(1e-6), noise = 0f, tissue = (float)Math.Log(3.0), edge = (float)Math.Log(TexturePyramid.FlatRatio);
        float[] sample = [flat, noise, flat, tissue, edge];
        Assert.Equal([noise, tissue, edge], TexturePyramid.WithoutFlat(sample));

        float[] none = [noise, tissue];
        Assert.Same(none, TexturePyramid.WithoutFlat(none));
        float[] all = [flat, flat];
        Assert.Same(all, TexturePyramid.WithoutFlat(all)); // nothing else: the sample is kept as it is
    }
}

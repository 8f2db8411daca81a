using EmMask.Core.Masking;
using EmMask.Core.Volumes;
using static EmMask.Core.Tests.Masking.TextureVolumes;

namespace EmMask.Core.Tests.Masking;

/// <summary>JPEG ringing next to exact-constant padding is left out of the mask; material at the padding's value is not ringing.</summary>
public class PaddingFringeTests
{
    // A 96 × 96 section: textured tissue (100 ± 20) in x < 48, zero padding from x = 48 + band on; the band rings as JPEG
    // leaves it (0–15, a third exactly 0 when zeros is set). Column 20 is dark tissue (10) far from the padding, column
    // 47 tissue at 40 (beyond a quarter of the contrast).
    private static Volume<float> Section(int band, bool zeros, int seed = 3)
    {
        var random = new Random(seed);
        var v = new Volume<float>(new Shape3(1, 96, 96));
        for (int y = 0; y < 96; y++)
        {
            for (int x = 0; x < 96; x++)
            {
                v[0, y, x] = x < 48 ? 100 + (float)(40 * (random.NextDouble() - 0.5))
                    : x < 48 + band ? (zeros && random.NextDouble() < 1.0 / 3 ? 0 : 1 + (float)Math.Round(14 * random.NextDouble()))
                    : 0;
            }

            v[0, y, 20] = 10;
            v[0, y, 47] = 40;
        }

        return v;
    }

    private static Volume<byte> Valid(Volume<float> v)
    {
        var padding = PaddingDetector.Detect(v)!;
        var valid = padding.Like<byte>();
        for (int i = 0; i < valid.Span.Length; i++)
        {
            valid.Span[i] = (byte)(1 - padding.Span[i]);
        }

        return valid;
    }

    [Fact]
    public void TheRingingBandIsTheFringeAndTheTissueIsNot()
    {
        var v = Section(band: 6, zeros: true);
        var valid = Valid(v);
        Assert.True(Mean(valid, 48, 54) > 0.5, "most of the ringing is not solid padding");
        var fringe = PaddingFringe.Find(v, valid, CancellationToken.None)!;
        for (int y = 0; y < 96; y++)
        {
            for (int x = 0; x < 96; x++)
            {
                Assert.Equal(x is >= 48 and < 54 && valid[0, y, x] == 1 ? 1 : 0, fringe[0, y, x]);
            }
        }
    }

    [Fact]
    public void MaterialAtThePaddingsValueBeyondTheReachIsNotRinging()
    {
        // A band of 12 columns at 1–15: its far part lies more than Reach steps from the padding, so it is material
        // (dark staining, resin), and the near part, within Reach of it, stays too.
        var v = Section(band: 12, zeros: false);
        Assert.Null(PaddingFringe.Find(v, Valid(v), CancellationToken.None));
    }

    [Fact]
    public void TheClassicalMaskAndItsValidMapLeaveTheRingingOut()
    {
        // Textured tissue (noise of 6 plus texture of scale 2 and 30) in x < 48; the ringing band and padding beyond.
        var v = Resin(7, new Shape3(1, 96, 96));
        AddTexture(v, 0, 48, 2, 30, 8);
        var ring = Section(band: 6, zeros: true);
        for (int y = 0; y < 96; y++)
        {
            for (int x = 48; x < 96; x++)
            {
                v[0, y, x] = ring[0, y, x];
            }
        }

        var result = ClassicalMasker.Run(v, ClassicalMaskOptions.Default);
        Assert.Equal(0.0, Mean(result.Mask, 48, 96));
        Assert.Equal(0.0, Mean(result.Valid!, 48, 96));
        Assert.Equal(0.0, Mean(result.Confidence, 48, 96));
        Assert.True(Mean(result.Mask, 0, 46) > 0.95, $"tissue {Mean(result.Mask, 0, 46):P1}");
    }
}

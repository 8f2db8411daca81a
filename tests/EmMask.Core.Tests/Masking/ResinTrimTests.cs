using EmMask.Core.Masking;
using EmMask.Core.Volumes;

namespace EmMask.Core.Tests.Masking;

/// <summary>Where the resin is known (<see cref="ResinIntensity"/>), the boundary refinement takes away only material at the resin's intensity.</summary>
public class ResinTrimTests
{
    // One section: resin (1.0, noise 0.02) in x < 32, pale tissue (0.8, same noise) from x = 32; resin markers in x < 16.
    private static (Volume<float> Image, Volume<byte> Markers) Section()
    {
        var shape = new Shape3(1, 32, 64);
        var image = new Volume<float>(shape);
        var markers = new Volume<byte>(shape);
        var random = new Random(5);
        for (int y = 0; y < 32; y++)
        {
            for (int x = 0; x < 64; x++)
            {
                double noise = 0.02 * Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
                image[0, y, x] = (float)((x < 32 ? 1.0 : 0.8) + noise);
                markers[0, y, x] = x < 16 ? (byte)1 : (byte)0;
            }
        }

        return (image, markers);
    }

    private static Volume<byte> Band(Shape3 shape, int from)
    {
        var mask = new Volume<byte>(shape);
        for (int y = 0; y < shape.Y; y++)
        {
            for (int x = from; x < shape.X; x++)
            {
                mask[0, y, x] = 1;
            }
        }

        return mask;
    }

    [Fact]
    public void TrimmedTissueGoesBackTrimmedResinStaysOut()
    {
        var (image, markers) = Section();
        var coarse = Band(image.Shape, 24); // the coarse mask overshoots 8 columns into the resin
        var refined = Band(image.Shape, 40); // the refinement cut 8 columns of resin and 8 of pale tissue
        var resin = ResinIntensity.Measure(image, markers, null, CancellationToken.None) ?? throw new InvalidOperationException("no resin measured");
        long restored = ResinTrim.Restore(refined, coarse.Span, resin);

        Assert.Equal(32 * 9, restored); // the pale tissue and the one resin column the smoothing (σ 1) mixes with it
        for (int y = 0; y < 32; y++)
        {
            Assert.Equal(0, refined[0, y, 24]); // resin: stays non-brain
            Assert.Equal(0, refined[0, y, 29]);
            Assert.Equal(1, refined[0, y, 36]); // pale tissue: tissue again
            Assert.Equal(1, refined[0, y, 50]);
            Assert.Equal(0, refined[0, y, 10]); // never tissue in the coarse mask: untouched
        }
    }

    [Fact]
    public void WithoutMarkersOrWhereTheResinIsExactlyConstantNothingIsMeasured()
    {
        var (image, _) = Section();
        Assert.Null(ResinIntensity.Measure(image, new Volume<byte>(image.Shape), null, CancellationToken.None));

        // Markers on exactly constant material: no spread to measure, no decision.
        var flat = new Volume<float>(image.Shape);
        flat.Span.Fill(1f);
        var all = new Volume<byte>(image.Shape);
        all.Span.Fill(1);
        Assert.Null(ResinIntensity.Measure(flat, all, null, CancellationToken.None));
    }
}

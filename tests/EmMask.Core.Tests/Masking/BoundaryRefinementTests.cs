using EmMask.Core.Masking;
using EmMask.Core.Volumes;

namespace EmMask.Core.Tests.Masking;

/// <summary>
/// Where the section's resin is known (<see cref="ResinIntensity"/>), the boundary refinement takes only resin-like
/// material next to the mask as resin: tissue the vote left out because it is as smooth as resin (a stained edge at
/// coarse pixels) is decided by the flood, on the resin's edge.
/// </summary>
public class BoundaryRefinementTests
{
    private const int Level = 2; // halo 20 voxels

    // One section: resin (1.0, noise 0.02) in x < 40, a smooth stained band (0.3, same noise) in 40 ≤ x < 52, textured
    // tissue (0.6, noise 0.15) from x = 52; resin markers in x < 20; the coarse mask is the textured tissue only.
    private static (Volume<float> Image, Volume<byte> Markers, Volume<byte> Coarse) Section()
    {
        var shape = new Shape3(1, 64, 128);
        var image = new Volume<float>(shape);
        var markers = new Volume<byte>(shape);
        var coarse = new Volume<byte>(shape);
        var random = new Random(11);
        double Gauss() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        for (int y = 0; y < shape.Y; y++)
        {
            for (int x = 0; x < shape.X; x++)
            {
                image[0, y, x] = (float)(x < 40 ? 1.0 + (0.02 * Gauss()) : x < 52 ? 0.3 + (0.02 * Gauss()) : 0.6 + (0.15 * Gauss()));
                markers[0, y, x] = x < 20 ? (byte)1 : (byte)0;
                coarse[0, y, x] = x >= 52 ? (byte)1 : (byte)0;
            }
        }

        return (image, markers, coarse);
    }

    [Fact]
    public void WhereTheResinIsKnownTheStainedBandBesideTheMaskJoinsItAndTheResinStaysOut()
    {
        var (image, markers, mask) = Section();
        var resin = ResinIntensity.Measure(image, markers, null, CancellationToken.None) ?? throw new InvalidOperationException("no resin measured");
        BoundaryRefinement.Refine(mask, image, null, markers, resin, Level, (0, 0, 0), mask.Shape, null, CancellationToken.None);
        for (int y = 0; y < 64; y++)
        {
            Assert.Equal(0, mask[0, y, 36]); // resin beside the band
            Assert.Equal(1, mask[0, y, 43]); // the band
            Assert.Equal(1, mask[0, y, 50]);
        }
    }

    [Fact]
    public void WithoutTheResinKnownTheBandStaysOut()
    {
        var (image, markers, mask) = Section();
        BoundaryRefinement.Refine(mask, image, null, markers, null, Level, (0, 0, 0), mask.Shape, null, CancellationToken.None);
        for (int y = 0; y < 64; y++)
        {
            Assert.Equal(0, mask[0, y, 36]);
            Assert.Equal(0, mask[0, y, 43]);
            Assert.Equal(0, mask[0, y, 47]);
        }
    }
}

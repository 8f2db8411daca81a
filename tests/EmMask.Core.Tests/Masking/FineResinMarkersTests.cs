using EmMask.Core.Masking;
using EmMask.Core.Volumes;

namespace EmMask.Core.Tests.Masking;

/// <summary>Where the resin is known, resin narrower than the working level is found at full resolution as flat material at its intensity.</summary>
public class FineResinMarkersTests
{
    [Fact]
    public void FindFlatMaterialAtTheResinsIntensityInLargeEnoughRegions()
    {
        // Resin (1.0, noise 0.02) in x < 32 with markers in x < 16; pale tissue (0.8) from x = 32 holding a flat resin
        // channel 32 columns wide (x 48–79), one resin-intensity voxel alone (a speck) and a band at the resin's mean
        // intensity that is strongly textured (x 96–111).
        var shape = new Shape3(1, 32, 128);
        var image = new Volume<float>(shape);
        var markers = new Volume<byte>(shape);
        var random = new Random(9);
        for (int y = 0; y < 32; y++)
        {
            for (int x = 0; x < 128; x++)
            {
                double noise = 0.02 * Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
                double value = x < 32 || x is >= 48 and < 80 ? 1.0 : x is >= 96 and < 112 ? 1.0 + (((x + y) % 2 == 0 ? 1 : -1) * 0.15) : 0.8;
                image[0, y, x] = (float)(value + noise);
                markers[0, y, x] = x < 16 ? (byte)1 : (byte)0;
            }
        }

        image[0, 20, 40] += 0.2f;
        var resin = ResinIntensity.Measure(image, markers, null, CancellationToken.None) ?? throw new InvalidOperationException("no resin measured");
        var fine = FineResinMarkers.Add(image, markers, null, resin, 64, CancellationToken.None);
        var k = markers.Span.ToArray();
        var f = fine.Span.ToArray();
        Assert.All(Enumerable.Range(0, k.Length).Where(i => k[i] != 0), i => Assert.Equal(1, f[i])); // the markers stay
        double channel = Enumerable.Range(4, 24).SelectMany(y => Enumerable.Range(56, 16).Select(x => (double)fine[0, y, x])).Average();
        Assert.True(channel > 0.6, $"the channel's inside is a fine marker in {channel:P0} of its voxels");
        Assert.Equal(0, fine[0, 20, 40]); // a speck is no resin
        Assert.Equal(0, Enumerable.Range(0, 32).Sum(y => fine[0, y, 104])); // textured: no resin
        Assert.Equal(0, Enumerable.Range(0, 32).Sum(y => fine[0, y, 36] + fine[0, y, 88])); // pale tissue: no resin
    }
}

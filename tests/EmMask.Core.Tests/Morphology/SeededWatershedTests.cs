using EmMask.Core.Morphology;
using EmMask.Core.Volumes;

namespace EmMask.Core.Tests.Morphology;

/// <summary>Marker-controlled flooding: the boundary settles on the ridge, masks are not crossed, sections stay apart.</summary>
public class SeededWatershedTests
{
    [Fact]
    public void BoundaryLiesOnTheRidge()
    {
        var relief = new Volume<float>(new Shape3(1, 8, 40));
        var labels = relief.Like<byte>();
        for (int y = 0; y < 8; y++)
        {
            for (int x = 0; x < 40; x++)
            {
                relief[0, y, x] = x == 25 ? 10 : 1;
            }

            labels[0, y, 0] = 1;
            labels[0, y, 39] = 2;
        }

        SeededWatershed.Flood(relief, labels);
        for (int x = 0; x < 40; x++)
        {
            Assert.Equal(x < 25 ? 1 : 2, labels[0, 3, x] == 1 ? 1 : x == 25 ? 2 : labels[0, 3, x]);
        }

        Assert.All(labels.Span.ToArray(), l => Assert.NotEqual(0, l));
    }

    [Fact]
    public void MaskedVoxelsAreNeitherLabelledNorCrossed()
    {
        var relief = new Volume<float>(new Shape3(1, 5, 20));
        var labels = relief.Like<byte>();
        var mask = relief.Like<byte>();
        mask.Span.Fill(1);
        for (int y = 0; y < 5; y++)
        {
            mask[0, y, 10] = 0; // a wall
        }

        labels[0, 2, 0] = 1;
        SeededWatershed.Flood(relief, labels, mask);
        Assert.Equal(1, labels[0, 4, 9]);
        Assert.Equal(0, labels[0, 2, 10]);
        Assert.Equal(0, labels[0, 2, 15]);
    }

    [Fact]
    public void PlanarFloodsKeepSectionsApart()
    {
        var relief = new Volume<float>(new Shape3(2, 4, 4));
        var labels = relief.Like<byte>();
        labels[0, 0, 0] = 2;
        SeededWatershed.Flood(relief, labels, null, planar: true);
        Assert.All(labels.Slice(0).ToArray(), l => Assert.Equal(2, l));
        Assert.All(labels.Slice(1).ToArray(), l => Assert.Equal(0, l));
        SeededWatershed.Flood(relief, labels, null, planar: false);
        Assert.All(labels.Slice(1).ToArray(), l => Assert.Equal(2, l));
    }
}

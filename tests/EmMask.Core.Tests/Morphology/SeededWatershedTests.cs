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

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void LeavingEnclosedSeedsOutOfTheQueueChangesNoLabel(int seed)
    {
        // Thick seed regions (as the refinement's markers are) with a band between them, plus a mask; the flood must
        // equal a reference that queues every seed, as the flood did before it left enclosed seeds out.
        var rng = new Random(seed);
        var shape = new Shape3(12, 20, 24);
        var relief = new Volume<float>(shape);
        var labels = relief.Like<byte>();
        var mask = relief.Like<byte>();
        var r = relief.Span;
        var l = labels.Span;
        var m = mask.Span;
        for (int i = 0; i < r.Length; i++)
        {
            r[i] = (float)Math.Round(rng.NextDouble() * 50) / 10; // ties, so the queue's order matters
            m[i] = rng.NextDouble() < 0.95 ? (byte)1 : (byte)0;
        }

        for (int z = 0; z < shape.Z; z++)
        {
            for (int y = 0; y < shape.Y; y++)
            {
                for (int x = 0; x < shape.X; x++)
                {
                    double d = Math.Sqrt(((z - 6) * (z - 6)) + ((y - 10) * (y - 10)) + ((x - 12) * (x - 12)));
                    labels[z, y, x] = d < 5 ? (byte)2 : d > 8 ? (byte)1 : (byte)0;
                }
            }
        }

        var reference = labels.Clone();
        ReferenceFlood(relief, reference, mask);
        SeededWatershed.Flood(relief, labels, mask);
        Assert.Equal(reference.Span.ToArray(), l.ToArray());
        Assert.Contains(l.ToArray(), v => v == 0); // masked voxels stay unlabelled
    }

    // The flood as it was: every seed queued, FIFO within a level.
    private static void ReferenceFlood(Volume<float> relief, Volume<byte> labels, Volume<byte> mask)
    {
        var r = relief.Span.ToArray();
        var l = labels.Span;
        var m = mask.Span.ToArray();
        float min = r.Min(), max = r.Max();
        float scale = max > min ? (SeededWatershed.Levels - 1) / (max - min) : 0;
        int Level(float v) => Math.Clamp((int)((v - min) * scale), 0, SeededWatershed.Levels - 1);
        var buckets = Enumerable.Range(0, SeededWatershed.Levels).Select(_ => new Queue<int>()).ToArray();
        for (int i = 0; i < l.Length; i++)
        {
            if (l[i] != 0 && m[i] != 0)
            {
                buckets[Level(r[i])].Enqueue(i);
            }
        }

        var shape = relief.Shape;
        int nx = shape.X, ny = shape.Y, plane = shape.SliceLength;
        int current = 0;
        while (current < buckets.Length)
        {
            if (buckets[current].Count == 0)
            {
                current++;
                continue;
            }

            int i = buckets[current].Dequeue();
            int level = current;
            int x = i % nx, y = (i / nx) % ny, z = i / plane;
            int[] next = [x > 0 ? i - 1 : -1, x + 1 < nx ? i + 1 : -1, y > 0 ? i - nx : -1, y + 1 < ny ? i + nx : -1,
                z > 0 ? i - plane : -1, z + 1 < shape.Z ? i + plane : -1];
            foreach (int j in next)
            {
                if (j >= 0 && l[j] == 0 && m[j] != 0)
                {
                    l[j] = l[i];
                    int k = Math.Max(level, Level(r[j]));
                    buckets[k].Enqueue(j);
                    current = Math.Min(current, k);
                }
            }
        }
    }
}

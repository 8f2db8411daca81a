using EmMask.Core.Blockwise;
using EmMask.Core.Inference;
using EmMask.Core.Volumes;

namespace EmMask.Core.Tests.Inference;

/// <summary>Non-brain regions stay only where the network is sure somewhere in them; block-wise gives the same mask.</summary>
public class NonBrainHysteresisTests
{
    [Fact]
    public void AnIslandOfDoubtBecomesTissueWhileAnAnchoredOneAndTheOutsideStay()
    {
        var p = new Volume<float>(new Shape3(1, 9, 20));
        p.Span.Fill(0.9f);
        for (int y = 0; y < 9; y++)
        {
            p[0, y, 0] = 0f; // the gated outside: anchored
        }

        Fill(p, 2, 5, 2, 5, 0.3f); // doubt only: becomes tissue
        Fill(p, 2, 5, 8, 11, 0.3f);
        p[0, 3, 9] = 0.005f; // one sure voxel anchors this island
        Fill(p, 2, 5, 14, 17, 0.3f);
        p[0, 5, 17] = 0.005f; // only diagonally next to the island: an island of its own, so the island is not anchored

        long raised = NonBrainHysteresis.Apply(p, new(0.01));

        Assert.Equal(9 + 9, raised);
        Assert.Equal(0.5f, p[0, 3, 3]);
        Assert.Equal(0.3f, p[0, 3, 8]);
        Assert.Equal(0f, p[0, 4, 0]);
        Assert.Equal(0.5f, p[0, 3, 15]);
        Assert.Equal(0.005f, p[0, 5, 17]);
    }

    [Fact]
    public void LowZeroChangesNothing()
    {
        var p = RandomProbabilities(new Shape3(6, 12, 12), 3);
        var before = p.Span.ToArray();
        Assert.Equal(0, NonBrainHysteresis.Apply(p, new(0)));
        Assert.Equal(before, p.Span.ToArray());
    }

    [Fact]
    public void AnAnchorTheWiderViewDoesNotConfirmAnchorsNothing()
    {
        var p = new Volume<float>(new Shape3(1, 9, 20));
        p.Span.Fill(0.9f);
        var wide = p.Clone();
        for (int y = 0; y < 9; y++)
        {
            p[0, y, 0] = wide[0, y, 0] = 0f; // the gated outside, 0 in both views: stays
        }

        Fill(p, 2, 5, 2, 5, 0.3f);
        p[0, 3, 3] = 0.005f; // sure here, and the wider view agrees: stays
        wide[0, 3, 3] = 0.1f;
        Fill(p, 2, 5, 8, 11, 0.3f);
        p[0, 3, 9] = 0.005f; // sure here, but the wider view sees tissue: becomes tissue
        wide[0, 3, 9] = 0.6f;
        Fill(p, 2, 5, 14, 17, 0.3f);
        wide[0, 3, 15] = 0.1f; // the wider view is sure, this view is not: no anchor either

        long raised = NonBrainHysteresis.Apply(p, new(0.01, wide, 0.2));

        Assert.Equal(9 + 9, raised);
        Assert.Equal(0.3f, p[0, 2, 2]);
        Assert.Equal(0.5f, p[0, 3, 9]);
        Assert.Equal(0.5f, p[0, 3, 15]);
        Assert.Equal(0f, p[0, 4, 0]);
        Assert.Throws<ArgumentException>(() => NonBrainHysteresis.Apply(p, new(0.01, new Volume<float>(new Shape3(1, 9, 19)), 0.2)));
    }

    [Fact]
    public void ALostSectionNeitherAnchorsNorJoinsRegionsWhilePaddingWithinASectionStillAnchors()
    {
        // Two sections: the first holds an island of doubt (0.3), the second is lost (padding, gated to 0).
        var p = new Volume<float>(new Shape3(2, 9, 9));
        p.Span.Fill(0.9f);
        Fill(p, 2, 5, 2, 5, 0.3f);
        var valid = new Volume<byte>(p.Shape);
        valid.Span[..81].Fill(1);
        p.Span[81..].Clear();

        var anchored = p.Clone();
        NonBrainHysteresis.Apply(anchored, new(0.01));
        Assert.Equal(0.3f, anchored[0, 3, 3]); // without the lost-section map the lost section anchors the island

        // Padding within sections (a corner of each) loses no section: no map, so it anchors as before.
        var corners = new Volume<byte>(p.Shape);
        corners.Span.Fill(1);
        corners.Span[..3].Clear();
        corners.Span[81..84].Clear();
        Assert.Null(NonBrainHysteresis.LostSections(corners));
        Assert.Null(NonBrainHysteresis.LostSections(null));
        var lost = NonBrainHysteresis.LostSections(valid);
        Assert.NotNull(lost);
        Assert.Equal(valid.Span.ToArray(), lost.Span.ToArray());

        long raised = NonBrainHysteresis.Apply(p, new(0.01, Image: lost));
        Assert.Equal(9, raised);
        Assert.Equal(0.5f, p[0, 3, 3]);
        Assert.Equal(0f, p[1, 3, 3]); // padding stays non-brain
        Assert.Equal(NonBrainHysteresis.PaddingCode, NonBrainHysteresis.Coded(p, new(0.01, Image: lost))[1, 0, 0]);
    }

    [Theory]
    [InlineData(1, 0.05, 7, false, false)]
    [InlineData(2, 0.1, 10, false, false)]
    [InlineData(3, 0.02, 13, false, false)]
    [InlineData(4, 0.1, 10, true, false)]
    [InlineData(5, 0.05, 7, true, false)]
    [InlineData(6, 0.05, 7, true, true)]
    [InlineData(7, 0.1, 10, false, true)]
    public void MatchesAFloodFromTheAnchorsInMemoryAndBlockByBlock(int seed, double low, int edge, bool confirmed, bool padded)
    {
        var shape = new Shape3(17, 23, 29);
        var p = RandomProbabilities(shape, seed);
        var wide = confirmed ? RandomProbabilities(shape, seed + 100) : null;
        Volume<byte>? valid = null;
        if (padded)
        {
            // A lost section and a padded corner, gated to 0 as the envelope gates padding.
            valid = new Volume<byte>(shape);
            valid.Span.Fill(1);
            for (int z = 0; z < shape.Z; z++)
            {
                for (int y = 0; y < shape.Y; y++)
                {
                    for (int x = 0; x < shape.X; x++)
                    {
                        if (z == 8 || (y < 6 && x < 9))
                        {
                            valid[z, y, x] = 0;
                            p[z, y, x] = 0;
                        }
                    }
                }
            }
        }

        var anchors = new NonBrainHysteresis.Anchors(low, wide, 0.3, valid);
        var coded = NonBrainHysteresis.Coded(p, anchors);
        var expected = Flood(p, low, wide, 0.3, valid);

        var applied = p.Clone();
        NonBrainHysteresis.Apply(applied, anchors);
        Assert.Equal(expected.Span.ToArray(), ProbabilityMask.From(applied).Span.ToArray());

        var grid = new BlockGrid(shape, new Shape3(edge, edge, edge), 0);
        var store = new MemoryBlockStore();
        var source = new VolumeBlockSource(coded);
        foreach (var block in grid.Blocks())
        {
            store.Write(block, (Volume<byte>)source.Read(block.Core, block.CoreSize, default), default);
        }

        var final = BlockComponents.Hysteresis(grid, b => store.Read(b, default));
        var actual = new Volume<byte>(shape);
        foreach (var block in grid.Blocks())
        {
            VolumeRegions.Paste(final(block), actual, block.Core);
        }

        Assert.Equal(expected.Span.ToArray(), actual.Span.ToArray());
        long raised = 0;
        for (int i = 0; i < expected.Span.Length; i++)
        {
            raised += expected.Span[i] == 1 && p.Span[i] < ProbabilityMask.Threshold ? 1 : 0;
        }

        Assert.True(raised > 0, "no island of doubt: nothing under test");
        if (wide is not null)
        {
            Assert.NotEqual(Flood(p, low, null, 0, valid).Span.ToArray(), expected.Span.ToArray()); // the wider view changed something
        }

        if (valid is not null)
        {
            Assert.NotEqual(Flood(p, low, wide, 0.3).Span.ToArray(), expected.Span.ToArray()); // the padding changed something
        }
    }

    // Smooth random probabilities, so that regions are larger than a voxel.
    private static Volume<float> RandomProbabilities(Shape3 shape, int seed)
    {
        var rng = new Random(seed);
        var coarse = new float[(shape.Z / 3) + 2, (shape.Y / 3) + 2, (shape.X / 3) + 2];
        foreach (int z in Enumerable.Range(0, coarse.GetLength(0)))
        {
            foreach (int y in Enumerable.Range(0, coarse.GetLength(1)))
            {
                foreach (int x in Enumerable.Range(0, coarse.GetLength(2)))
                {
                    coarse[z, y, x] = (float)rng.NextDouble();
                }
            }
        }

        var p = new Volume<float>(shape);
        for (int z = 0; z < shape.Z; z++)
        {
            for (int y = 0; y < shape.Y; y++)
            {
                for (int x = 0; x < shape.X; x++)
                {
                    float v = coarse[z / 3, y / 3, x / 3] * 0.8f + (float)rng.NextDouble() * 0.2f;
                    p[z, y, x] = v < 0.3f ? v * v : v; // sure voxels rarer than doubt
                }
            }
        }

        return p;
    }

    private static void Fill(Volume<float> p, int y0, int y1, int x0, int x1, float value)
    {
        for (int y = y0; y < y1; y++)
        {
            for (int x = x0; x < x1; x++)
            {
                p[0, y, x] = value;
            }
        }
    }

    // The reference: breadth-first flood through non-brain voxels (6-neighbours) from every voxel under low (and, with a
    // wider view, under confirmBelow there); padding (valid 0) is never a seed nor flooded, and stays non-brain.
    private static Volume<byte> Flood(Volume<float> p, double low, Volume<float>? wide, double confirmBelow, Volume<byte>? valid = null)
    {
        bool Image(int z, int y, int x) => valid is null || valid[z, y, x] != 0;
        var s = p.Shape;
        var kept = new bool[s.Z, s.Y, s.X];
        var queue = new Queue<(int, int, int)>();
        for (int z = 0; z < s.Z; z++)
        {
            for (int y = 0; y < s.Y; y++)
            {
                for (int x = 0; x < s.X; x++)
                {
                    if (Image(z, y, x) && p[z, y, x] < low && (wide is null || wide[z, y, x] < confirmBelow))
                    {
                        kept[z, y, x] = true;
                        queue.Enqueue((z, y, x));
                    }
                }
            }
        }

        (int, int, int)[] steps = [(1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1)];
        while (queue.Count > 0)
        {
            var (z, y, x) = queue.Dequeue();
            foreach (var (dz, dy, dx) in steps)
            {
                int a = z + dz, b = y + dy, c = x + dx;
                if (a >= 0 && a < s.Z && b >= 0 && b < s.Y && c >= 0 && c < s.X && !kept[a, b, c] && Image(a, b, c) && p[a, b, c] < ProbabilityMask.Threshold)
                {
                    kept[a, b, c] = true;
                    queue.Enqueue((a, b, c));
                }
            }
        }

        var mask = new Volume<byte>(s);
        for (int z = 0; z < s.Z; z++)
        {
            for (int y = 0; y < s.Y; y++)
            {
                for (int x = 0; x < s.X; x++)
                {
                    mask[z, y, x] = kept[z, y, x] || !Image(z, y, x) ? (byte)0 : (byte)1;
                }
            }
        }

        return mask;
    }
}

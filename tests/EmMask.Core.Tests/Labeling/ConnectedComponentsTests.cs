using EmMask.Core.Labeling;
using EmMask.Core.Tests.Morphology;
using EmMask.Core.Volumes;

namespace EmMask.Core.Tests.Labeling;

public class ConnectedComponentsTests
{
    [Theory]
    [InlineData(Connectivity.Face, "label6")]
    [InlineData(Connectivity.Vertex, "label26")]
    public void MatchesScipyLabelExactly(Connectivity connectivity, string golden)
    {
        var mask = MaskFixtures.Load<byte>("label_mask");
        var expected = MaskFixtures.Load<ushort>(golden);

        var result = ConnectedComponents.Label(mask, connectivity);

        int expectedCount = 0;
        var sizes = new long[ushort.MaxValue + 1];
        for (int i = 0; i < expected.Span.Length; i++)
        {
            Assert.Equal(expected.Span[i], result.Labels.Span[i]);
            expectedCount = Math.Max(expectedCount, expected.Span[i]);
            sizes[expected.Span[i]]++;
        }

        Assert.Equal(expectedCount, result.Count);
        Assert.Equal(sizes.Take(expectedCount + 1), result.Sizes);
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(1, 1, 17)]
    [InlineData(1, 9, 1)]
    [InlineData(7, 1, 1)]
    [InlineData(1, 8, 9)]
    [InlineData(5, 6, 7)]
    [InlineData(9, 3, 33)]
    public void MatchesFloodFillOnRandomMasks(int z, int y, int x)
    {
        var shape = new Shape3(z, y, x);
        foreach (var connectivity in new[] { Connectivity.Face, Connectivity.Edge, Connectivity.Vertex })
        {
            foreach (double density in new[] { 0.3, 0.55, 0.8 })
            {
                var mask = MaskFixtures.RandomMask(shape, density, seed: z * 1000 + y * 100 + x + (int)(density * 10));
                var (expected, count) = FloodFill(mask, connectivity);

                var result = ConnectedComponents.Label(mask, connectivity);

                Assert.Equal(count, result.Count);
                Assert.Equal(expected, result.Labels.Span.ToArray());
                Assert.Equal(shape.Length, result.Sizes.Sum());
            }
        }
    }

    [Fact]
    public void ConnectivityDecidesDiagonalNeighbours()
    {
        // (0,0,0)-(0,1,1) share an edge; (0,1,1)-(1,2,2) share only a corner.
        var mask = new Volume<byte>(new Shape3(2, 3, 3));
        mask[0, 0, 0] = 1;
        mask[0, 1, 1] = 1;
        mask[1, 2, 2] = 1;

        Assert.Equal(3, ConnectedComponents.Label(mask, Connectivity.Face).Count);
        Assert.Equal(2, ConnectedComponents.Label(mask, Connectivity.Edge).Count);
        Assert.Equal(1, ConnectedComponents.Label(mask, Connectivity.Vertex).Count);
    }

    [Fact]
    public void EmptyAndFullMasks()
    {
        var shape = new Shape3(3, 4, 5);
        var empty = ConnectedComponents.Label(new Volume<byte>(shape));
        Assert.Equal(0, empty.Count);
        Assert.Equal(new long[] { 60 }, empty.Sizes);
        Assert.All(empty.Labels.Span.ToArray(), v => Assert.Equal(0, v));

        var fullMask = new Volume<byte>(shape);
        fullMask.Span.Fill(255); // any nonzero value is foreground
        var full = ConnectedComponents.Label(fullMask);
        Assert.Equal(1, full.Count);
        Assert.Equal(new long[] { 0, 60 }, full.Sizes);
        Assert.All(full.Labels.Span.ToArray(), v => Assert.Equal(1, v));
    }

    [Fact]
    public void KeepsVoxelSizeAndRejectsBadConnectivity()
    {
        var mask = new Volume<byte>(new Shape3(1, 2, 2), new VoxelSize(30, 8, 8));
        Assert.Equal(new VoxelSize(30, 8, 8), ConnectedComponents.Label(mask).Labels.VoxelSize);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => ConnectedComponents.Label(mask, (Connectivity)7));
        Assert.Equal("connectivity", e.ParamName);
    }

    [Fact]
    public void HonoursCancellation()
    {
        var mask = MaskFixtures.RandomMask(new Shape3(8, 8, 8), 0.5, 1);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => ConnectedComponents.Label(mask, ct: cts.Token));
    }

    /// <summary>Breadth-first flood fill from each unlabeled voxel in scan order: scipy's numbering by construction.</summary>
    private static (int[] Labels, int Count) FloodFill(Volume<byte> mask, Connectivity connectivity)
    {
        var shape = mask.Shape;
        var labels = new int[shape.Length];
        int count = 0;
        var queue = new Queue<(int Z, int Y, int X)>();
        for (int z = 0; z < shape.Z; z++)
        {
            for (int y = 0; y < shape.Y; y++)
            {
                for (int x = 0; x < shape.X; x++)
                {
                    if (mask[z, y, x] == 0 || labels[shape.Index(z, y, x)] != 0)
                    {
                        continue;
                    }

                    labels[shape.Index(z, y, x)] = ++count;
                    queue.Enqueue((z, y, x));
                    while (queue.Count > 0)
                    {
                        var (cz, cy, cx) = queue.Dequeue();
                        for (int dz = -1; dz <= 1; dz++)
                        {
                            for (int dy = -1; dy <= 1; dy++)
                            {
                                for (int dx = -1; dx <= 1; dx++)
                                {
                                    int nonzero = Math.Abs(dz) + Math.Abs(dy) + Math.Abs(dx);
                                    bool allowed = connectivity switch
                                    {
                                        Connectivity.Face => nonzero == 1,
                                        Connectivity.Edge => nonzero is 1 or 2,
                                        _ => nonzero >= 1,
                                    };
                                    int nz = cz + dz, ny = cy + dy, nx = cx + dx;
                                    if (!allowed || nz < 0 || ny < 0 || nx < 0 || nz >= shape.Z || ny >= shape.Y || nx >= shape.X)
                                    {
                                        continue;
                                    }

                                    long i = shape.Index(nz, ny, nx);
                                    if (mask[nz, ny, nx] != 0 && labels[i] == 0)
                                    {
                                        labels[i] = count;
                                        queue.Enqueue((nz, ny, nx));
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }

        return (labels, count);
    }
}

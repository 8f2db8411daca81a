using EmMask.Core.Morphology;
using EmMask.Core.Volumes;

namespace EmMask.Core.Tests.Morphology;

public class EuclideanDistanceTransformTests
{
    [Theory]
    [InlineData("edt_aniso", 2.0, 1.0, 0.5)]
    [InlineData("edt_iso", 1.0, 1.0, 1.0)]
    public void MatchesScipyDistanceTransformEdt(string golden, double sz, double sy, double sx)
    {
        var mask = MaskFixtures.Load<byte>("edt_mask");
        mask.VoxelSize = new VoxelSize(sz, sy, sx);
        var expected = MaskFixtures.Load<float>(golden);

        var actual = EuclideanDistanceTransform.Compute(mask);

        Assert.Equal(mask.VoxelSize, actual.VoxelSize);
        for (int i = 0; i < expected.Span.Length; i++)
        {
            Assert.True(Math.Abs(expected.Span[i] - actual.Span[i]) <= 1e-4 * Math.Max(1, expected.Span[i]), $"voxel {i}: {expected.Span[i]} vs {actual.Span[i]}");
        }
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(1, 1, 13)]
    [InlineData(1, 11, 1)]
    [InlineData(12, 1, 1)]
    [InlineData(1, 7, 9)]
    [InlineData(6, 1, 8)]
    [InlineData(5, 7, 6)]
    [InlineData(8, 3, 17)]
    public void MatchesBruteForceOnAnyShape(int z, int y, int x)
    {
        var spacings = new[] { VoxelSize.Isotropic, new VoxelSize(3, 1, 1), new VoxelSize(0.7, 2.5, 1.3) };
        int seed = 0;
        foreach (var spacing in spacings)
        {
            foreach (double density in new[] { 0.5, 0.9, 0.97 })
            {
                var mask = MaskFixtures.RandomMask(new Shape3(z, y, x), density, ++seed * 7919 + z + y + x, spacing);
                mask.Span[^1] = 0; // at least one background voxel so distances are finite
                var expected = MaskFixtures.BruteSquaredDistance(mask, spacing, toNonzero: false, planar: false);

                var actual = EuclideanDistanceTransform.ComputeSquared(mask);

                for (int i = 0; i < expected.Length; i++)
                {
                    Assert.True(Math.Abs(expected[i] - actual.Span[i]) <= 1e-5 * Math.Max(1, expected[i]), $"voxel {i}: {expected[i]} vs {actual.Span[i]}");
                }
            }
        }
    }

    [Fact]
    public void BackgroundIsZeroAndFullMaskIsInfinite()
    {
        var shape = new Shape3(3, 4, 5);
        var empty = EuclideanDistanceTransform.Compute(new Volume<byte>(shape));
        Assert.All(empty.Span.ToArray(), v => Assert.Equal(0f, v));

        var full = new Volume<byte>(shape);
        full.Span.Fill(1);
        Assert.All(EuclideanDistanceTransform.Compute(full).Span.ToArray(), v => Assert.True(float.IsPositiveInfinity(v)));
    }

    [Fact]
    public void SingleBackgroundVoxelGivesPhysicalDistances()
    {
        var mask = new Volume<byte>(new Shape3(3, 3, 3), new VoxelSize(4, 2, 1));
        mask.Span.Fill(1);
        mask[1, 1, 1] = 0;

        var d = EuclideanDistanceTransform.Compute(mask);

        Assert.Equal(0f, d[1, 1, 1]);
        Assert.Equal(4f, d[0, 1, 1]);
        Assert.Equal(2f, d[1, 0, 1]);
        Assert.Equal(1f, d[1, 1, 2]);
        Assert.Equal((float)Math.Sqrt(16 + 4 + 1), d[2, 2, 2], 5);
    }

    [Fact]
    public void EmptyShapeAndCancellation()
    {
        Assert.Equal(0, EuclideanDistanceTransform.Compute(new Volume<byte>(new Shape3(0, 4, 4))).Span.Length);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => EuclideanDistanceTransform.Compute(new Volume<byte>(new Shape3(4, 4, 4)), cts.Token));
    }
}

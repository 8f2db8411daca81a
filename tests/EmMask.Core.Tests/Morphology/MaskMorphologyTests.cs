using EmMask.Core.Labeling;
using EmMask.Core.Morphology;
using EmMask.Core.Volumes;

namespace EmMask.Core.Tests.Morphology;

public class MaskMorphologyTests
{
    [Theory]
    [InlineData("open3d_r2", true, 2.0, false)]
    [InlineData("close3d_r2", false, 2.0, false)]
    [InlineData("open2d_r3", true, 3.0, true)]
    [InlineData("close2d_r3", false, 3.0, true)]
    public void OpenAndCloseMatchScipyWithBallFootprint(string golden, bool open, double radius, bool perSlice)
    {
        var mask = MaskFixtures.Load<byte>("morph_mask");
        mask.VoxelSize = new VoxelSize(30, 8, 8); // radius is in voxels: the voxel size must not matter
        if (open)
        {
            MaskMorphology.Open(mask, radius, perSlice);
        }
        else
        {
            MaskMorphology.Close(mask, radius, perSlice);
        }

        MaskFixtures.EqualMasks(MaskFixtures.Load<byte>(golden), mask);
    }

    [Fact]
    public void GrowAndErodeUsePhysicalAnisotropicDistance()
    {
        var spacing = new VoxelSize(2.0, 1.0, 0.5);
        var grow = MaskFixtures.Load<byte>("grow_mask");
        grow.VoxelSize = spacing;
        MaskMorphology.Grow(grow, 2.5);
        MaskFixtures.EqualMasks(MaskFixtures.Load<byte>("grow_d2_5"), grow);

        var erode = MaskFixtures.Load<byte>("erode_mask");
        erode.VoxelSize = spacing;
        MaskMorphology.Erode(erode, 2.5);
        MaskFixtures.EqualMasks(MaskFixtures.Load<byte>("erode_d2_5"), erode);
    }

    [Theory]
    [InlineData(false, "fill3d")]
    [InlineData(true, "fill2d")]
    public void FillHolesMatchesScipy(bool perSlice, string golden)
    {
        var mask = MaskFixtures.Load<byte>("fill_mask");
        MaskMorphology.FillHoles(mask, perSlice);
        MaskFixtures.EqualMasks(MaskFixtures.Load<byte>(golden), mask);

        var again = mask.Clone();
        MaskMorphology.FillHoles(again, perSlice);
        MaskFixtures.EqualMasks(mask, again); // idempotent
    }

    [Theory]
    [InlineData(1, 1, 9, 2.0)]
    [InlineData(1, 8, 1, 1.5)]
    [InlineData(9, 1, 1, 3.0)]
    [InlineData(1, 9, 10, 2.2)]
    [InlineData(6, 7, 8, 1.0)]
    [InlineData(6, 7, 8, 2.5)]
    public void GrowAndErodeMatchBruteForceBall(int z, int y, int x, double distance)
    {
        var spacing = new VoxelSize(1.5, 1, 0.75);
        var mask = MaskFixtures.RandomMask(new Shape3(z, y, x), 0.15, z * 31 + y * 7 + x, spacing);
        var toForeground = MaskFixtures.BruteSquaredDistance(mask, spacing, toNonzero: true, planar: false);
        var toBackground = MaskFixtures.BruteSquaredDistance(mask, spacing, toNonzero: false, planar: false);

        var grown = mask.Clone();
        MaskMorphology.Grow(grown, distance);
        var eroded = mask.Clone();
        MaskMorphology.Erode(eroded, distance);

        double r2 = distance * distance;
        for (int i = 0; i < toForeground.Length; i++)
        {
            Assert.Equal(toForeground[i] <= r2 + 1e-9 ? 1 : 0, grown.Span[i]);
            Assert.Equal(toBackground[i] > r2 + 1e-9 ? 1 : 0, eroded.Span[i]);
        }
    }

    [Fact]
    public void PerSliceOpeningIsTwoDimensional()
    {
        var mask = MaskFixtures.RandomMask(new Shape3(5, 12, 13), 0.7, 3);
        var expected = mask.Clone();
        for (int z = 0; z < 5; z++)
        {
            var slice = new Volume<byte>(new Shape3(1, 12, 13), expected.Slice(z).ToArray());
            MaskMorphology.Open(slice, 1.5, perSlice: false); // a one-slice 3D ball is the 2D disk
            slice.Span.CopyTo(expected.Slice(z));
        }

        MaskMorphology.Open(mask, 1.5, perSlice: true);
        MaskFixtures.EqualMasks(expected, mask);
    }

    [Fact]
    public void OrderingInvariantsHold()
    {
        var mask = MaskFixtures.Load<byte>("morph_mask");
        mask.VoxelSize = new VoxelSize(2, 1, 1);
        foreach (bool perSlice in new[] { false, true })
        {
            var opened = mask.Clone();
            MaskMorphology.Open(opened, 2, perSlice);
            var closed = mask.Clone();
            MaskMorphology.Close(closed, 2, perSlice);
            Assert.True(MaskFixtures.IsSubset(opened, mask));
            Assert.True(MaskFixtures.IsSubset(mask, closed));
            Assert.True(MaskFixtures.Count(opened) < MaskFixtures.Count(mask));
            Assert.True(MaskFixtures.Count(closed) > MaskFixtures.Count(mask));
        }

        var eroded = mask.Clone();
        MaskMorphology.Erode(eroded, 2);
        var grown = mask.Clone();
        MaskMorphology.Grow(grown, 2);
        Assert.True(MaskFixtures.IsSubset(eroded, mask));
        Assert.True(MaskFixtures.IsSubset(mask, grown));
        Assert.True(MaskFixtures.Count(eroded) < MaskFixtures.Count(mask));
        Assert.True(MaskFixtures.Count(grown) > MaskFixtures.Count(mask));
    }

    [Fact]
    public void GrowThenErodeRestoresConvexBlob()
    {
        var blob = MaskFixtures.Sphere(new Shape3(30, 30, 30), 14.5, 15, 14.2, 8.3);
        var mask = blob.Clone();
        MaskMorphology.Grow(mask, 4);
        Assert.True(MaskFixtures.Count(mask) > MaskFixtures.Count(blob) * 2);
        MaskMorphology.Erode(mask, 4);
        MaskFixtures.EqualMasks(blob, mask);
    }

    [Fact]
    public void OperationsChangeTheCallersBuffer()
    {
        var data = new byte[5 * 6 * 7];
        data[(2 * 6 * 7) + (3 * 7) + 3] = 1;
        var mask = new Volume<byte>(new Shape3(5, 6, 7), data);

        MaskMorphology.Grow(mask, 1);
        Assert.Equal(7, data.Count(b => b == 1)); // the 6-neighbourhood plus the centre

        MaskMorphology.Erode(mask, 1);
        Assert.Equal(1, data.Count(b => b == 1));

        MaskMorphology.RemoveSmallRegions(mask, 2);
        Assert.All(data, b => Assert.Equal(0, b));
    }

    [Fact]
    public void EmptyAndFullMasksAreFixedPoints()
    {
        var shape = new Shape3(4, 5, 6);
        var empty = new Volume<byte>(shape);
        MaskMorphology.Grow(empty, 3);
        MaskMorphology.Close(empty, 2, perSlice: false);
        MaskMorphology.Open(empty, 2, perSlice: true);
        MaskMorphology.FillHoles(empty, perSlice: false);
        Assert.Equal(0, MaskMorphology.KeepLargestComponents(empty));
        Assert.Equal(0, MaskMorphology.RemoveSmallRegions(empty, 10));
        Assert.Equal(0, MaskFixtures.Count(empty));

        var full = new Volume<byte>(shape);
        full.Span.Fill(1);
        MaskMorphology.Erode(full, 3);
        MaskMorphology.Open(full, 2, perSlice: false);
        MaskMorphology.Close(full, 2, perSlice: true);
        MaskMorphology.FillHoles(full, perSlice: true);
        Assert.Equal(1, MaskMorphology.KeepLargestComponents(full));
        Assert.Equal(shape.Length, MaskFixtures.Count(full));
    }

    [Fact]
    public void KeepLargestComponentsKeepsBiggestAndBreaksTiesByScanOrder()
    {
        // Along x: sizes 2, 4, 3, 4 separated by gaps.
        var mask = Row("11011110111011110");
        Assert.Equal(4, MaskMorphology.KeepLargestComponents(mask, 1));
        Assert.Equal(Row("00011110000000000").Span.ToArray(), mask.Span.ToArray());

        mask = Row("11011110111011110");
        MaskMorphology.KeepLargestComponents(mask, 3);
        Assert.Equal(Row("00011110111011110").Span.ToArray(), mask.Span.ToArray());

        mask = Row("11011110111011110");
        Assert.Equal(4, MaskMorphology.KeepLargestComponents(mask, 9));
        Assert.Equal(Row("11011110111011110").Span.ToArray(), mask.Span.ToArray());
    }

    [Fact]
    public void KeepLargestHonoursConnectivity()
    {
        var mask = new Volume<byte>(new Shape3(1, 3, 3));
        mask[0, 0, 0] = 1;
        mask[0, 1, 1] = 1;
        mask[0, 2, 2] = 1;
        mask[0, 2, 1] = 1;
        var face = mask.Clone();
        Assert.Equal(2, MaskMorphology.KeepLargestComponents(face, 1, Connectivity.Face));
        Assert.Equal(3, MaskFixtures.Count(face));
        var vertex = mask.Clone();
        Assert.Equal(1, MaskMorphology.KeepLargestComponents(vertex, 1, Connectivity.Vertex));
        Assert.Equal(4, MaskFixtures.Count(vertex));
    }

    [Fact]
    public void RemoveSmallRegionsReturnsVoxelsRemoved()
    {
        var mask = Row("11011110111011110");
        Assert.Equal(5, MaskMorphology.RemoveSmallRegions(mask, 4));
        Assert.Equal(Row("00011110000011110").Span.ToArray(), mask.Span.ToArray());
        Assert.Equal(0, MaskMorphology.RemoveSmallRegions(mask, 1));
        Assert.Equal(0, MaskMorphology.RemoveSmallRegions(mask, 0));
    }

    [Fact]
    public void FillHolesTreatsOneSliceVolumeAsOpenIn3D()
    {
        var ring = new Volume<byte>(new Shape3(1, 5, 5));
        for (int y = 1; y < 4; y++)
        {
            for (int x = 1; x < 4; x++)
            {
                ring[0, y, x] = (byte)(y == 2 && x == 2 ? 0 : 1);
            }
        }

        var threeD = ring.Clone();
        MaskMorphology.FillHoles(threeD, perSlice: false);
        Assert.Equal(0, threeD[0, 2, 2]); // touches the z faces of a one-slice volume
        MaskMorphology.FillHoles(ring, perSlice: true);
        Assert.Equal(1, ring[0, 2, 2]);
    }

    [Fact]
    public void BadArgumentsNameTheParameter()
    {
        var mask = new Volume<byte>(new Shape3(2, 2, 2));
        Assert.Equal("radius", Assert.Throws<ArgumentOutOfRangeException>(() => MaskMorphology.Open(mask, -1, true)).ParamName);
        Assert.Equal("radius", Assert.Throws<ArgumentOutOfRangeException>(() => MaskMorphology.Close(mask, double.NaN, false)).ParamName);
        Assert.Equal("distance", Assert.Throws<ArgumentOutOfRangeException>(() => MaskMorphology.Grow(mask, double.PositiveInfinity)).ParamName);
        Assert.Equal("distance", Assert.Throws<ArgumentOutOfRangeException>(() => MaskMorphology.Erode(mask, -0.5)).ParamName);
        Assert.Equal("count", Assert.Throws<ArgumentOutOfRangeException>(() => MaskMorphology.KeepLargestComponents(mask, 0)).ParamName);
        Assert.Equal("minimumVoxels", Assert.Throws<ArgumentOutOfRangeException>(() => MaskMorphology.RemoveSmallRegions(mask, -1)).ParamName);
        Assert.Throws<ArgumentNullException>(() => MaskMorphology.FillHoles(null!, true));
    }

    private static Volume<byte> Row(string bits) =>
        new(new Shape3(1, 1, bits.Length), bits.Select(c => (byte)(c - '0')).ToArray());

    [Fact]
    public void AHoleHoldingEnoughKeepOpenVoxelsStaysOpen()
    {
        // One section, two 4×4 holes in a full mask; the left hole holds 3 marked voxels, the right one 2.
        var shape = new Shape3(1, 10, 16);
        var mask = new Volume<byte>(shape);
        mask.Span.Fill(1);
        var keep = new Volume<byte>(shape);
        for (int y = 3; y < 7; y++)
        {
            for (int x = 2; x < 6; x++) mask[0, y, x] = 0;
            for (int x = 9; x < 13; x++) mask[0, y, x] = 0;
        }

        keep[0, 4, 3] = keep[0, 4, 4] = keep[0, 5, 3] = 1;
        keep[0, 4, 10] = keep[0, 5, 10] = 1;
        keep[0, 0, 0] = 1; // marked tissue changes nothing

        var filled = mask.Clone();
        MaskMorphology.FillHoles(filled, perSlice: true, keep, minimumMarked: 3);
        Assert.Equal(0, filled[0, 3, 2]); // left hole open, all of it
        Assert.Equal(0, filled[0, 6, 5]);
        Assert.Equal(1, filled[0, 3, 9]); // right hole filled
        Assert.Equal(1, filled[0, 0, 0]);
        Assert.Equal(shape.Length - 16, MaskFixtures.Count(filled));

        var all = mask.Clone();
        MaskMorphology.FillHoles(all, perSlice: true, keep, minimumMarked: 4); // neither holds 4
        Assert.Equal(shape.Length, MaskFixtures.Count(all));
        var plain = mask.Clone();
        MaskMorphology.FillHoles(plain, perSlice: true);
        Assert.Equal(all.Span.ToArray(), plain.Span.ToArray());
        Assert.Throws<ArgumentException>(() => MaskMorphology.FillHoles(mask.Clone(), true, new Volume<byte>(new Shape3(1, 10, 15)), 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => MaskMorphology.FillHoles(mask.Clone(), true, keep, 0));
    }

    [Fact]
    public void FillUnmarkedFillsUnmarkedBackgroundAtTheBorderToo()
    {
        // One section, full mask but for three background regions: a hole (2 marks), a notch at the right border
        // (no marks) and a notch at the left border (3 marks).
        var shape = new Shape3(1, 10, 16);
        var mask = new Volume<byte>(shape);
        mask.Span.Fill(1);
        var marks = new Volume<byte>(shape);
        for (int y = 3; y < 7; y++)
        {
            for (int x = 6; x < 9; x++) mask[0, y, x] = 0;
            for (int x = 13; x < 16; x++) mask[0, y, x] = 0;
            for (int x = 0; x < 3; x++) mask[0, y, x] = 0;
        }

        marks[0, 4, 7] = marks[0, 5, 7] = 1;
        marks[0, 4, 0] = marks[0, 4, 1] = marks[0, 5, 1] = 1;

        var holesOnly = mask.Clone();
        MaskMorphology.FillHoles(holesOnly, perSlice: true, marks, minimumMarked: 3);
        Assert.Equal(1, holesOnly[0, 4, 7]); // the hole holds 2 < 3 marks
        Assert.Equal(0, holesOnly[0, 4, 14]); // the border keeps the right notch open

        var unmarked = mask.Clone();
        MaskMorphology.FillUnmarked(unmarked, perSlice: true, marks, minimumMarked: 3);
        Assert.Equal(1, unmarked[0, 4, 7]);
        Assert.Equal(1, unmarked[0, 4, 14]); // no marks: filled although it touches the border
        Assert.Equal(0, unmarked[0, 3, 0]); // 3 marks: open, all of it
        Assert.Equal(shape.Length - 12, MaskFixtures.Count(unmarked));
        Assert.Throws<ArgumentNullException>(() => MaskMorphology.FillUnmarked(mask.Clone(), true, null!, 1));
    }
}

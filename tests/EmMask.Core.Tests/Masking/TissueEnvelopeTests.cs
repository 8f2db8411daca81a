using EmMask.Core.Inference;
using EmMask.Core.Masking;
using EmMask.Core.Volumes;

namespace EmMask.Core.Tests.Masking;

public class TissueEnvelopeTests
{
    // A hollow 9x9x9 cube (wall 2) in a 21^3 volume, as 0/1.
    private static Volume<byte> HollowCube()
    {
        var m = new Volume<byte>(new Shape3(21, 21, 21), new VoxelSize(40, 8, 8));
        for (int z = 6; z < 15; z++)
        {
            for (int y = 6; y < 15; y++)
            {
                for (int x = 6; x < 15; x++)
                {
                    bool inner = z is >= 8 and < 13 && y is >= 8 and < 13 && x is >= 8 and < 13;
                    m[z, y, x] = inner ? (byte)0 : (byte)1;
                }
            }
        }

        return m;
    }

    [Fact]
    public void FillsEnclosedHolesAndGrowsByTheMarginInVoxels()
    {
        var mask = HollowCube();
        var envelope = TissueEnvelope.FromMask(mask, margin: 2);
        Assert.Equal(1, envelope[10, 10, 10]); // the enclosed cavity (a trachea inside tissue) is inside
        Assert.Equal(1, envelope[10, 10, 4]); // 2 voxels out along x
        Assert.Equal(1, envelope[4, 10, 10]); // 2 voxels out along z: voxels, not the 40 nm physical spacing
        Assert.Equal(0, envelope[10, 10, 3]);
        Assert.Equal(0, envelope[3, 10, 10]);
        Assert.Equal(mask.VoxelSize, envelope.VoxelSize);
        Assert.Equal(0, mask[10, 10, 10]); // the input is not changed
    }

    // The same 10 × 10 square of tissue, at (10, 10), in two sections of edge × edge voxels.
    private static Volume<byte> TwoSquares(int edge)
    {
        var mask = new Volume<byte>(new Shape3(2, edge, edge));
        for (int z = 0; z < 2; z++)
        {
            for (int y = 10; y < 20; y++)
            {
                for (int x = 10; x < 20; x++)
                {
                    mask[z, y, x] = 1;
                }
            }
        }

        return mask;
    }

    [Fact]
    public void SectionsWhoseResinIsKnownGrowByHalfTheMargin()
    {
        // The classical masker knows the second section's resin.
        var mask = TwoSquares(TissueEnvelope.KnownResinMinimumEdge);
        var envelope = TissueEnvelope.FromMask(mask, margin: 4, resinKnown: [false, true]);
        Assert.Equal(1, envelope[0, 15, 6]); // 4 voxels out
        Assert.Equal(0, envelope[0, 15, 5]);
        Assert.Equal(1, envelope[1, 15, 8]); // 2 voxels out
        Assert.Equal(0, envelope[1, 15, 7]);
        Assert.Equal(1, envelope[1, 15, 21]);
        Assert.Equal(0, envelope[1, 15, 22]);

        // Without the flags (3D, block-wise before they were measured) every section grows by the margin.
        Assert.Equal(1, TissueEnvelope.FromMask(mask, margin: 4)[1, 15, 6]);
        var ex = Assert.Throws<ArgumentException>(() => TissueEnvelope.FromMask(mask, 4, [true]));
        Assert.Contains("1 sections", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SmallSectionsKeepTheFullMarginWhereTheResinIsKnown()
    {
        // Under KnownResinMinimumEdge voxels a section's resin reference rests on few cells (a 64² all-tissue crop
        // took a pale region for resin): the margin stays whole.
        var envelope = TissueEnvelope.FromMask(TwoSquares(TissueEnvelope.KnownResinMinimumEdge - 1), margin: 4, resinKnown: [false, true]);
        Assert.Equal(1, envelope[1, 15, 6]);
        Assert.Equal(0, envelope[1, 15, 5]);
    }

    [Fact]
    public void PaddingLeavesTheEnvelopeAndClassicalTissueNextToItJoinsTheCore()
    {
        // One section: padding in x < 16, classical tissue in x >= 16, an envelope over everything and a core at x >= 60.
        var shape = new Shape3(1, 64, 80);
        var valid = new Volume<byte>(shape);
        var classical = new Volume<byte>(shape);
        var envelope = new Volume<byte>(shape);
        var core = new Volume<byte>(shape);
        for (int y = 0; y < 64; y++)
        {
            for (int x = 0; x < 80; x++)
            {
                valid[0, y, x] = x >= 16 ? (byte)1 : (byte)0;
                classical[0, y, x] = valid[0, y, x];
                envelope[0, y, x] = 1;
                core[0, y, x] = x >= 60 ? (byte)1 : (byte)0;
            }
        }

        var joined = TissueEnvelope.NextToPadding(envelope, core, classical, valid);
        Assert.Same(core, joined);
        Assert.Equal(0, envelope[0, 30, 15]); // padding: out of the envelope
        Assert.Equal(1, envelope[0, 30, 16]);
        Assert.Equal(1, joined[0, 30, 16]); // within PaddingReach (16) of padding: the classical call stands
        Assert.Equal(1, joined[0, 30, 31]);
        Assert.Equal(0, joined[0, 30, 32]); // farther: the network decides
        Assert.Equal(1, joined[0, 30, 70]); // the given core is kept

        // Without a core one is made; classical non-brain next to padding stays out of it.
        classical[0, 30, 20] = 0;
        var made = TissueEnvelope.NextToPadding(TissueEnvelope.FromMask(classical, 0), null, classical, valid);
        Assert.Equal(1, made[0, 31, 20]);
        Assert.Equal(0, made[0, 30, 20]);
        Assert.Equal(0, made[0, 30, 70]);
    }

    [Fact]
    public void TheClassicalResultKeepsItsValidVoxelsOnlyWhereThereIsPadding()
    {
        var v = TextureVolumes.Resin(1, new Shape3(2, 64, 64));
        TextureVolumes.AddTexture(v, 0, 40, 2, 10, 2);
        Assert.Null(ClassicalMasker.Run(v).Valid);
        for (int z = 0; z < 2; z++)
        {
            for (int y = 0; y < 64; y++)
            {
                for (int x = 40; x < 64; x++)
                {
                    v[z, y, x] = 0;
                }
            }
        }

        var valid = ClassicalMasker.Run(v).Valid;
        Assert.NotNull(valid);
        Assert.Equal(0.0, TextureVolumes.Mean(valid, 40, 64));
        Assert.Equal(1.0, TextureVolumes.Mean(valid, 0, 40));
    }

    [Fact]
    public void ZeroMarginOnlyFillsHoles()
    {
        var mask = HollowCube();
        var envelope = TissueEnvelope.FromMask(mask, margin: 0);
        long inside = 0;
        foreach (byte b in envelope.Span)
        {
            inside += b;
        }

        Assert.Equal(9 * 9 * 9, inside);
    }

    [Fact]
    public void GateZeroesProbabilitiesOutsideOnly()
    {
        var envelope = TissueEnvelope.FromMask(HollowCube(), margin: 1);
        var p = new Volume<float>(envelope.Shape);
        p.Span.Fill(0.9f);
        TissueEnvelope.Gate(p, envelope);
        Assert.Equal(0.9f, p[10, 10, 10]);
        Assert.Equal(0.9f, p[10, 10, 5]);
        Assert.Equal(0f, p[10, 10, 4]);
        Assert.Equal(0f, p[0, 0, 0]);
    }

    [Theory]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void BadMarginIsNamed(double margin)
    {
        var volume = new Volume<byte>(new Shape3(4, 4, 4));
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => TissueEnvelope.Compute(volume, margin));
        Assert.Equal("margin", ex.ParamName);
    }

    [Fact]
    public void MismatchedShapesAreRefused()
    {
        Assert.Throws<ArgumentException>(() => TissueEnvelope.Gate(new Volume<float>(new Shape3(2, 2, 2)), new Volume<byte>(new Shape3(2, 2, 3))));
    }
    [Fact]
    public void CoreIsTheMaskErodedInEverySectionOnItsOwn()
    {
        // A 20x20 square in each of 3 sections of a 3x40x40 mask: eroded in-plane by 4, not along z (3 sections).
        var mask = new Volume<byte>(new Shape3(3, 40, 40));
        for (int z = 0; z < 3; z++)
        {
            for (int y = 10; y < 30; y++)
            {
                for (int x = 10; x < 30; x++)
                {
                    mask[z, y, x] = 1;
                }
            }
        }

        var core = TissueEnvelope.Core(mask, 4);
        for (int z = 0; z < 3; z++)
        {
            Assert.Equal(1, core[z, 20, 20]);
            Assert.Equal(1, core[z, 20, 14]); // 4 voxels from the edge at x = 9: farther than 4
            Assert.Equal(0, core[z, 20, 13]);
            Assert.Equal(0, core[z, 20, 10]);
        }

        Assert.Equal(1, mask[0, 20, 10]); // the input is not changed
        Assert.Equal(12L * 12 * 3, core.Span.ToArray().Sum(b => (long)b));
    }

    [Fact]
    public void RaiseMakesTheCoreTissueAndLeavesTheRest()
    {
        var p = new Volume<float>(new Shape3(1, 1, 4), [0.1f, 0.9f, 0.1f, 0.49f]);
        var core = new Volume<byte>(new Shape3(1, 1, 4), [1, 1, 0, 1]);
        TissueEnvelope.Raise(p, core);
        Assert.Equal([0.5f, 0.9f, 0.1f, 0.5f], p.Span.ToArray());
        Assert.Equal([1, 1, 0, 1], ProbabilityMask.From(p).Span.ToArray());
        Assert.Throws<ArgumentException>(() => TissueEnvelope.Raise(p, new Volume<byte>(new Shape3(1, 1, 3))));
    }

    [Fact]
    public void WithAFloorOnlyTheCoreVoxelsTheNetworkIsUnsureOfAreRaised()
    {
        var p = new Volume<float>(new Shape3(1, 1, 5), [0.02f, 0.1f, 0.3f, 0.9f, 0.3f]);
        var core = new Volume<byte>(new Shape3(1, 1, 5), [1, 1, 1, 1, 0]);
        TissueEnvelope.Raise(p, core, floor: 0.1);
        Assert.Equal([0.02f, 0.5f, 0.5f, 0.9f, 0.3f], p.Span.ToArray()); // a sure non-brain call (0.02) stands
    }

    [Fact]
    public void CoreDepthAndFloorAreValidated()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => (UNetMaskOptions.Default with { CoreDepth = -1 }).Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => (UNetMaskOptions.Default with { CoreDepth = double.PositiveInfinity }).Validate());
        Assert.Equal("core_floor", Assert.Throws<ArgumentOutOfRangeException>(() => (UNetMaskOptions.Default with { CoreFloor = 0.6 }).Validate()).ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => (UNetMaskOptions.Default with { CoreFloor = double.NaN }).Validate());
        Assert.False(UNetMaskOptions.Default.Core); // off by default: its acceptance rules failed (model card)
        Assert.Equal(0, UNetMaskOptions.Default.CoreFloor);
    }
}

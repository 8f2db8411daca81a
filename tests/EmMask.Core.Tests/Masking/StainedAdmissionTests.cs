using EmMask.Core.Blockwise;
using EmMask.Core.Masking;
using EmMask.Core.Volumes;

namespace EmMask.Core.Tests.Masking;

public class StainedAdmissionTests
{
    private const int Edge = 160;

    // One section: flat resin (value `resin`), textured tissue in x < 60 (the classical mask), and smooth patches of
    // `patch` intensity outside it: a block touching the tissue (38 × 60 voxels outside a margin of 2), a blob far from it
    // (30 × 40), a small patch touching it (13 × 20 outside the margin) and, at `pale`, a block on resin's side.
    private static (Volume<float> Image, Volume<byte> Classical) Section(float resin, float tissue, float patch, float pale)
    {
        var random = new Random(7);
        var image = new Volume<float>(new Shape3(1, Edge, Edge));
        var classical = new Volume<byte>(image.Shape);
        for (int y = 0; y < Edge; y++)
        {
            for (int x = 0; x < Edge; x++)
            {
                float noise = (float)(random.NextDouble() - 0.5) * 6;
                float value = resin + noise;
                if (x < 60)
                {
                    value = tissue + ((float)random.NextDouble() - 0.5f) * 60; // textured tissue
                    classical[0, y, x] = 1;
                }
                else if (y is >= 20 and < 80 && x < 100)
                {
                    value = patch + noise; // the stained block next to the tissue
                }
                else if (y is >= 100 and < 140 && x is >= 120 and < 150)
                {
                    value = patch + noise; // the same material, not touching
                }
                else if (y is >= 120 and < 140 && x < 75)
                {
                    value = patch + noise; // small
                }
                else if (y is >= 88 and < 110 && x < 100)
                {
                    value = pale + noise; // beyond the resin, away from the tissue
                }

                image[0, y, x] = value;
            }
        }

        return (image, classical);
    }

    [Theory]
    [InlineData(200f, 120f, 60f, 240f)] // bright resin, dark stain
    [InlineData(50f, 130f, 210f, 20f)] // dark resin: stain is brighter than the tissue
    public void AStainedRegionTouchingTheEnvelopeJoinsItButNotAFarOneASmallOneOrResinSideMaterial(float resin, float tissue, float patch, float pale)
    {
        var (image, classical) = Section(resin, tissue, patch, pale);
        var envelope = TissueEnvelope.FromMask(classical, margin: 2);
        var before = envelope.Clone();
        long joined = StainedAdmission.Admit(envelope, classical, new VolumeBlockSource(image), null);

        Assert.Equal(1, envelope[0, 50, 90]); // the block
        Assert.Equal(0, before[0, 50, 90]);
        Assert.Equal(0, envelope[0, 120, 135]); // far away
        Assert.Equal(0, envelope[0, 130, 70]); // too small
        Assert.Equal(0, envelope[0, 100, 80]); // on resin's side of the tissue
        Assert.Equal(0, envelope[0, 150, 120]); // resin
        long added = 0;
        for (int i = 0; i < envelope.Span.Length; i++)
        {
            Assert.True(envelope.Span[i] >= before.Span[i]); // only added
            added += envelope.Span[i] - before.Span[i];
        }

        Assert.Equal(added, joined);
        Assert.InRange(joined, 1800, 2400); // about the block's 38 × 60 voxels outside the envelope
    }

    [Fact]
    public void NothingJoinsWithoutResinOutsideTheEnvelopeOrWherePaddingIs()
    {
        var (image, classical) = Section(200f, 120f, 60f, 240f);
        var all = new Volume<byte>(classical.Shape);
        all.Span.Fill(1);
        var envelope = TissueEnvelope.FromMask(all, margin: 2);
        Assert.Equal(0, StainedAdmission.Admit(envelope, all, new VolumeBlockSource(image), null)); // no resin reference

        // The block is padding: not valid, so it never joins.
        var valid = new Volume<byte>(classical.Shape);
        valid.Span.Fill(1);
        for (int y = 20; y < 80; y++)
        {
            for (int x = 60; x < 100; x++)
            {
                valid[0, y, x] = 0;
            }
        }

        envelope = TissueEnvelope.FromMask(classical, margin: 2);
        Assert.Equal(0, StainedAdmission.Admit(envelope, classical, new VolumeBlockSource(image), valid));
        Assert.Equal(0, envelope[0, 50, 90]);
    }

    [Fact]
    public void TheEnvelopeAdmitsOnlyInSectionBySectionRunsOnSectionsOfAtLeast128()
    {
        var (image, classical) = Section(200f, 120f, 60f, 240f);
        var source = new VolumeBlockSource(image);
        bool[] known = [false]; // whether the resin is known does not matter, only that the masker worked per section
        Assert.Equal(1, TissueEnvelope.FromClassical(classical, known, null, 2, null, source).Envelope[0, 50, 90]);
        var (envelope, _, joined) = TissueEnvelope.FromClassical(classical, null, null, 2, null, source); // 3D: no flags
        Assert.Equal(0, envelope[0, 50, 90]);
        Assert.Equal(0, joined);
        Assert.Equal(0, TissueEnvelope.FromClassical(classical, known, null, 2, null, null).Envelope[0, 50, 90]); // turned off

        // A section under 128 on an edge: its references are too few to trust.
        var shape = new Shape3(1, 120, Edge);
        var small = new Volume<float>(shape, image.Span[..(int)shape.Length].ToArray());
        var smallMask = new Volume<byte>(shape, classical.Span[..(int)shape.Length].ToArray());
        Assert.Equal(0, TissueEnvelope.FromClassical(smallMask, known, null, 2, null, new VolumeBlockSource(small)).Joined);
    }
}

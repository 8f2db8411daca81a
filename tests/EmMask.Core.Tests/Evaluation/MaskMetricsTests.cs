using EmMask.Core.Evaluation;
using EmMask.Core.Volumes;

namespace EmMask.Core.Tests.Evaluation;

/// <summary>The overlap counts of a whole mask and of each section, with and without an unlabelled region.</summary>
public class MaskMetricsTests
{
    private static Volume<byte> Of(Shape3 shape, Func<int, byte> value)
    {
        var v = new Volume<byte>(shape);
        var s = v.Span;
        for (int i = 0; i < s.Length; i++)
        {
            s[i] = value(i);
        }

        return v;
    }

    [Fact]
    public void EachSectionIsCountedOnItsOwnAndTheSectionsAddUpToTheWhole()
    {
        var shape = new Shape3(3, 2, 4); // 8 voxels a section
        var truth = Of(shape, i => (byte)(i % 4 < 2 ? 0 : 1));
        var predicted = Of(shape, i => i / 8 == 1 ? (byte)1 : i == 22 ? (byte)0 : truth.Span[i]); // z=1 all brain; one brain voxel of z=2 lost
        var region = Of(shape, i => i == 0 ? (byte)0 : (byte)1);                                     // voxel 0 unlabelled

        var sections = MaskMetrics.PerSection(predicted, truth, region);
        Assert.Equal(3, sections.Length);
        Assert.Equal(new MaskMetrics(4, 0, 0, 3), sections[0]);   // the unlabelled voxel is left out
        Assert.Equal(new MaskMetrics(4, 4, 0, 0), sections[1]);
        Assert.Equal(0.0, sections[1].NonBrainIoU);
        Assert.Equal(new MaskMetrics(3, 0, 1, 4), sections[2]);
        Assert.Equal(0.25, sections[2].TissueLoss);
        var whole = MaskMetrics.Compute(predicted, truth, region);
        Assert.Equal(whole.TruePositives, sections.Sum(m => m.TruePositives));
        Assert.Equal(whole.FalsePositives, sections.Sum(m => m.FalsePositives));
        Assert.Equal(whole.FalseNegatives, sections.Sum(m => m.FalseNegatives));
        Assert.Equal(whole.TrueNegatives, sections.Sum(m => m.TrueNegatives));
    }

    [Fact]
    public void SectionsOfMasksOfDifferentShapesAreRefused()
    {
        var a = new Volume<byte>(new Shape3(2, 2, 2));
        var b = new Volume<byte>(new Shape3(2, 2, 3));
        Assert.Throws<ArgumentException>(() => MaskMetrics.PerSection(a, b));
    }
}

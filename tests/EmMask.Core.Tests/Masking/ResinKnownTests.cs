using EmMask.Core.Blockwise;
using EmMask.Core.Masking;
using EmMask.Core.Volumes;
using static EmMask.Core.Tests.Masking.TextureVolumes;

namespace EmMask.Core.Tests.Masking;

/// <summary>Which sections' resin the classical masker knows (<see cref="MaskResult.ResinKnown"/>), the U-Net envelope's cue.</summary>
public class ResinKnownTests
{
    private static readonly ClassicalMaskOptions Sections = ClassicalMaskOptions.Default with { Level = 2, MinimumRegionSize = 0, Mode = MaskingMode.TwoD };

    // Three sections of 128 × 200: resin beside tissue (ResinRuleTests.PaleTissueAndResinPocket), weakly textured tissue
    // only, and the first again.
    private static Volume<float> Stack()
    {
        var resin = ResinRuleTests.PaleTissueAndResinPocket(95);
        var tissue = Resin(97, resin.Shape);
        AddTexture(tissue, 0, 200, 2, 10, 98);
        var stack = new Volume<float>(new Shape3(3, 128, 200));
        int plane = resin.Shape.SliceLength;
        resin.Span.CopyTo(stack.Span[..plane]);
        foreach (ref float x in tissue.Span)
        {
            x -= 40;
        }

        tissue.Span.CopyTo(stack.Span.Slice(plane, plane));
        resin.Span.CopyTo(stack.Span.Slice(2 * plane, plane));
        return stack;
    }

    [Fact]
    public void TheSectionsWithResinAreKnownAndTheTissueOnlySectionIsNot()
    {
        var result = ClassicalMasker.Run(Stack(), Sections);
        Assert.Equal([true, false, true], result.ResinKnown!);

        // Without the resin rule no section's resin is known.
        Assert.Equal([false, false, false], ClassicalMasker.Run(Stack(), Sections with { ResinWindow = 0 }).ResinKnown!);
    }

    [Fact]
    public void OneSectionHasOneFlagAndA3DVolumeNone()
    {
        var section = ResinRuleTests.PaleTissueAndResinPocket(95);
        Assert.Equal([true], ClassicalMasker.Run(section, Sections).ResinKnown!);
        Assert.Null(ClassicalMasker.Run(Stack(), Sections with { Mode = MaskingMode.ThreeD }).ResinKnown);
    }

    [Fact]
    public void ABlockWiseRunKnowsTheSameSections()
    {
        var stack = Stack();
        var source = new VolumeBlockSource(stack);
        var plan = ClassicalBlockwise.Plan(source, Sections);
        var grid = ClassicalBlockwise.Grid(stack.Shape, plan, Sections, 1);
        Assert.True(grid.Count == 3, $"{grid.Count} blocks");
        var blocks = ClassicalBlockwise.Run(source, new MemoryBlockStore(), grid, plan, Sections);
        Assert.Equal(ClassicalMasker.Run(stack, Sections).ResinKnown!, blocks.ResinKnown!);
    }
}

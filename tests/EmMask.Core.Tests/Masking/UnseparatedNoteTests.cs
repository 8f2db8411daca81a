using EmMask.Core.Blockwise;
using EmMask.Core.Masking;
using EmMask.Core.Phantom;
using EmMask.Core.Volumes;

namespace EmMask.Core.Tests.Masking;

/// <summary>
/// Where the texture does not split into two classes, the mask rests on the unimodal threshold, and the notes say so and
/// name the lever (a threshold or level by hand); where it splits, or the threshold was given, they do not.
/// </summary>
public class UnseparatedNoteTests
{
    private const string Unseparated = "did not split into tissue and resin";

    private static readonly ClassicalMaskOptions ThreeD = ClassicalMaskOptions.Default with { Mode = MaskingMode.ThreeD };

    private static Volume<byte> TissueOnly(Shape3 shape) =>
        EmPhantom.Generate(new PhantomOptions { Seed = 3, Shape = shape, TissueFraction = 1 }).Raw;

    [Fact]
    public void SectionsOfTissueOnlyAreNamedWithTheUnimodalThreshold()
    {
        var result = ClassicalMasker.Run(TissueOnly(new Shape3(4, 128, 128)), ClassicalMaskOptions.Default with { Mode = MaskingMode.TwoD });
        var note = Assert.Single(result.Notes!, n => n.Contains(Unseparated, StringComparison.Ordinal));
        Assert.Matches(@"^in [1-4] of 4 sections (\(z = [0-3](, [0-3])*\) )?the texture did not split", note);
        Assert.Equal(note.StartsWith("in 4 of 4", StringComparison.Ordinal), !note.Contains("(z = ", StringComparison.Ordinal)); // all: no list
        Assert.Contains("unimodal threshold 2 ", note, StringComparison.Ordinal);
        Assert.Contains("set threshold", note, StringComparison.Ordinal);
    }

    [Fact]
    public void TheNoteNamesExactlyTheSectionsThatDidNotSplitInOrder()
    {
        // Sections 1 and 3 hold tissue only (no split); sections 0 and 2 a tissue edge on resin (they split).
        var edge = EmPhantom.Generate(new PhantomOptions { Seed = 3, Shape = new Shape3(4, 128, 128) }).Raw;
        var tissue = TissueOnly(new Shape3(4, 128, 128));
        var stack = edge.Like<byte>();
        int plane = 128 * 128;
        foreach (int z in new[] { 0, 1, 2, 3 })
        {
            (z % 2 == 1 ? tissue : edge).Span.Slice(z * plane, plane).CopyTo(stack.Span.Slice(z * plane, plane));
        }

        var result = ClassicalMasker.Run(stack, ClassicalMaskOptions.Default with { Mode = MaskingMode.TwoD, Threshold = null });
        var note = Assert.Single(result.Notes!, n => n.Contains(Unseparated, StringComparison.Ordinal));
        Assert.StartsWith("in 2 of 4 sections (z = 1, 3) the texture", note, StringComparison.Ordinal);
        Assert.Equal([1, 3], result.UnsplitSections!);
        Assert.Null(ClassicalMasker.Run(stack, ThreeD).UnsplitSections); // per section only in 2D mode
    }

    [Fact]
    public void AGivenThresholdOrATextureThatSplitsGivesNoSuchNote()
    {
        var tissue = TissueOnly(new Shape3(4, 128, 128));
        var given = ClassicalMasker.Run(tissue, ClassicalMaskOptions.Default with { Mode = MaskingMode.TwoD, Threshold = 3 });
        Assert.DoesNotContain(given.Notes!, n => n.Contains(Unseparated, StringComparison.Ordinal));

        var edge = EmPhantom.Generate(new PhantomOptions { Seed = 3, Shape = new Shape3(48, 96, 96) }).Raw;
        var split = ClassicalMasker.Run(edge, ThreeD);
        Assert.DoesNotContain(split.Notes!, n => n.Contains(Unseparated, StringComparison.Ordinal));
    }

    [Fact]
    public void ABlockwiseRunSaysItFromThePlanWhichKeepsItThroughJson()
    {
        var tissue = TissueOnly(new Shape3(48, 96, 96));
        var inMemory = ClassicalMasker.Run(tissue, ThreeD);
        Assert.Contains(inMemory.Notes!, n => n.StartsWith("the texture did not split", StringComparison.Ordinal));

        var source = new VolumeBlockSource(tissue);
        var plan = ClassicalPlan.FromJson(ClassicalBlockwise.Plan(source, ThreeD).ToJson());
        Assert.False(plan.Volume!.Separated);
        var grid = ClassicalBlockwise.Grid(tissue.Shape, plan, ThreeD, 48);
        var blockwise = ClassicalBlockwise.Run(source, new MemoryBlockStore(), grid, plan, ThreeD);
        Assert.Contains(blockwise.Notes, n => n.StartsWith("the texture did not split", StringComparison.Ordinal));
    }
}

using EmMask.Core.Blockwise;
using EmMask.Core.Masking;
using EmMask.Core.Phantom;
using EmMask.Core.Volumes;

namespace EmMask.Core.Tests.Masking;

/// <summary>2D mode: a section whose own histogram does not separate takes the level and threshold its stack agrees on.</summary>
public class SectionConsensusTests
{
    private static readonly StainRule.Reference Classes = new(0.3f, 0.7f, 0.05f);

    private static SectionVerdict Separated(int level, double logThreshold, double share, StainRule.Reference? classes = null) =>
        new(true, level, logThreshold, share, classes ?? Classes);

    private static readonly SectionVerdict Unimodal = new(false, 0, Math.Log(2), 0.01, null);

    [Fact]
    public void AtLeastHalfTheSectionsAndAtLeastTwoMustHaveSeparated()
    {
        Assert.Null(SectionConsensus.From([Separated(2, 1.5, 0.4), Separated(2, 1.5, 0.4), Unimodal, Unimodal, Unimodal]));
        Assert.NotNull(SectionConsensus.From([Separated(2, 1.5, 0.4), Separated(2, 1.5, 0.4), Unimodal, Unimodal]));
        Assert.NotNull(SectionConsensus.From([Separated(2, 1.5, 0.4), Separated(2, 1.5, 0.4), Unimodal]));
        Assert.Null(SectionConsensus.From([Separated(2, 1.5, 0.4), Unimodal])); // one section's split is no agreement
        Assert.Null(SectionConsensus.From([Unimodal, Unimodal]));
        Assert.Null(SectionConsensus.From([Separated(2, 1.5, 0.4)]));
    }

    [Fact]
    public void TheMostCommonLevelWinsFinerOnATieWithTheMediansOfItsSections()
    {
        var c = SectionConsensus.From([
            Separated(3, 2.0, 0.40, new(0.30f, 0.70f, 0.05f)), Separated(2, 1.0, 0.9, new(0.9f, 0.1f, 0.05f)),
            Separated(3, 1.8, 0.30, new(0.32f, 0.75f, 0.05f)), Separated(3, 2.2, 0.35, new(0.28f, 0.72f, 0.05f)), Unimodal]);
        Assert.Equal(new SectionConsensus(3, 2.0, 0.35, 0.72f, 0.30f), c);
        Assert.Equal(1, SectionConsensus.From([Separated(2, 1.0, 0.5), Separated(1, 0.9, 0.5), Separated(2, 1.0, 0.5), Separated(1, 0.9, 0.5)])!.Level);
        Assert.Equal(1.0, SectionConsensus.From([Separated(1, 1.2, 0.5), Separated(1, 1.0, 0.5)])!.LogThreshold); // lower median
    }

    [Fact]
    public void WithoutTheResinsIntensityThereIsNoConsensus() =>
        Assert.Null(SectionConsensus.From([new SectionVerdict(true, 2, 1.5, 0.4, null), new SectionVerdict(true, 2, 1.5, 0.4, null)]));

    [Fact]
    public void ASectionNeedsThreeQuartersOfTheSeparatingSectionsShareBelowTheThresholdAtTheResinsIntensity()
    {
        var c = new SectionConsensus(3, 2.0, 0.4, ResinMedian: 0.7, TissueMedian: 0.3);
        Assert.True(c.Admits(0.31, new(0.35f, 0.6f, 0.05f)));
        Assert.False(c.Admits(0.29, new(0.35f, 0.6f, 0.05f)));
        Assert.False(c.Admits(0.31, new(0.35f, 0.45f, 0.05f))); // below the threshold at the tissue's intensity
        Assert.False(c.Admits(0.31, null));
    }

    /// <summary>
    /// Phantom seed 3, 16 sections of 128²: 14 sections separate on their own, 2 fall short and would call their resin
    /// tissue at the unimodal threshold (each masked alone, the scipy peer measures Dice 0.56 and 0.53); with the
    /// stack's threshold 0.71 and 0.76.
    /// </summary>
    [Fact]
    public void SectionsThatFallShortTakeTheStacksThresholdAndGainOnTheTruth()
    {
        var phantom = EmPhantom.Generate(new PhantomOptions { Seed = 3, Shape = new Shape3(16, 128, 128) });
        var stack = ClassicalMasker.Run(phantom.Raw);
        Assert.Contains(stack.Notes!, n => n.Contains("the stack's level and threshold in 2 of 16 sections", StringComparison.Ordinal));

        int plane = phantom.Raw.Shape.SliceLength;
        var gains = new List<double>();
        for (int z = 0; z < 16; z++)
        {
            var section = new Volume<byte>(new Shape3(1, 128, 128), phantom.Raw.Memory.Slice(z * plane, plane).ToArray());
            var alone = ClassicalMasker.Run(section).Mask.Span;
            var inStack = stack.Mask.Span.Slice(z * plane, plane);
            var truth = phantom.Truth.Span.Slice(z * plane, plane);
            gains.Add(Dice(inStack, truth) - Dice(alone, truth));
        }

        Assert.True(gains.Count(g => g > 0.1) == 2, string.Join(" ", gains.Select(g => g.ToString("F3"))));
        Assert.True(gains.All(g => g > -0.02), string.Join(" ", gains.Select(g => g.ToString("F3"))));
    }

    /// <summary>
    /// The same 16 sections followed by 8 sections of tissue only (a phantom of tissue fraction 1, over 90 % tissue): the tissue sections do
    /// not separate either, and this weakly textured tissue lies below the stack's threshold in as many cells as resin
    /// does in the sections that separated, but at the tissue's intensity, so they keep their own threshold and lose no
    /// more tissue than in a stack of their own (where the masker calls about half of this phantom's tissue non-brain: its
    /// texture is weak at every level; with the stack's threshold they would lose all of it).
    /// </summary>
    [Fact]
    public void SectionsOfTissueOnlyKeepTheirOwnThreshold()
    {
        var edge = EmPhantom.Generate(new PhantomOptions { Seed = 3, Shape = new Shape3(16, 128, 128) }).Raw;
        var tissue = EmPhantom.Generate(new PhantomOptions { Seed = 3, Shape = new Shape3(8, 128, 128), TissueFraction = 1 });
        var truth = tissue.Truth.Span;
        Assert.True(truth.Count((byte)1) > 0.9 * truth.Length, $"the tissue phantom is {truth.Count((byte)1) / (double)truth.Length:P1} tissue");
        var stack = new Volume<byte>(new Shape3(24, 128, 128), [.. edge.Span.ToArray(), .. tissue.Raw.Span.ToArray()]);

        var result = ClassicalMasker.Run(stack);
        Assert.True(result.Notes![0].Contains("the stack's level and threshold in 2 of 24 sections", StringComparison.Ordinal), result.Notes[0]);
        var alone = ClassicalMasker.Run(tissue.Raw).Mask.Span;
        var tail = result.Mask.Span[(16 * 128 * 128)..];
        int lostInStack = 0, lostAlone = 0;
        for (int i = 0; i < tail.Length; i++)
        {
            lostInStack += truth[i] == 1 && tail[i] == 0 ? 1 : 0;
            lostAlone += truth[i] == 1 && alone[i] == 0 ? 1 : 0;
        }

        Assert.True(lostInStack <= lostAlone + (0.01 * truth.Count((byte)1)), $"tissue called non-brain: {lostInStack} in the stack, {lostAlone} alone");
    }

    [Fact]
    public void BlockwiseRunsUseThePlansConsensusAndGiveTheSameMask()
    {
        var raw = EmPhantom.Generate(new PhantomOptions { Seed = 3, Shape = new Shape3(16, 128, 128) }).Raw;
        var options = ClassicalMaskOptions.Default;
        var expected = ClassicalMasker.Run(raw, options).Mask;
        var source = new VolumeBlockSource(raw);
        var plan = ClassicalMasker.Plan(raw, raw.Shape, raw.VoxelSize, options);
        Assert.NotNull(plan.Consensus);
        var back = ClassicalPlan.FromJson(plan.ToJson());
        Assert.Equal(plan.Describe(), back.Describe());
        Assert.Contains("sections agree on level", back.Describe(), StringComparison.Ordinal);

        var grid = ClassicalBlockwise.Grid(raw.Shape, back, options, 40);
        Assert.True(grid.Count > 1, $"{grid.Count} blocks");
        var mask = ClassicalBlockwise.Run(source, new MemoryBlockStore(), grid, back, options).ToVolume();
        Assert.Equal(expected.Span.ToArray(), mask.Span.ToArray());

        // Blocks of one section each (a Dask task can be one section) take it from the plan too.
        var single = ClassicalBlockwise.Grid(raw.Shape, back, options, 25);
        Assert.Equal(1, single.BlockSize.Z);
        Assert.Equal(expected.Span.ToArray(), ClassicalBlockwise.Run(source, new MemoryBlockStore(), single, back, options).ToVolume().Span.ToArray());

        // A block of a few sections cannot see the stack: without the plan's consensus its failing sections differ.
        var alone = ClassicalBlockwise.Run(source, new MemoryBlockStore(), grid, ClassicalPlan.FromJson(plan.ToJson().Replace("\"Consensus\":[", "\"Ignored\":[", StringComparison.Ordinal)), options).ToVolume();
        Assert.NotEqual(expected.Span.ToArray(), alone.Span.ToArray());
    }

    [Fact]
    public void AGivenThresholdLeavesNothingToAgreeOn()
    {
        var raw = EmPhantom.Generate(new PhantomOptions { Seed = 3, Shape = new Shape3(16, 128, 128) }).Raw;
        var options = ClassicalMaskOptions.Default with { Threshold = 2.5 };
        Assert.Null(ClassicalMasker.Plan(raw, raw.Shape, raw.VoxelSize, options).Consensus);
        Assert.DoesNotContain(ClassicalMasker.Run(raw, options).Notes!, n => n.Contains("stack's level", StringComparison.Ordinal));
    }

    private static double Dice(ReadOnlySpan<byte> mask, ReadOnlySpan<byte> truth)
    {
        long both = 0, sum = 0;
        for (int i = 0; i < mask.Length; i++)
        {
            both += mask[i] != 0 && truth[i] != 0 ? 1 : 0;
            sum += (mask[i] != 0 ? 1 : 0) + (truth[i] != 0 ? 1 : 0);
        }

        return sum == 0 ? 1 : 2.0 * both / sum;
    }
}

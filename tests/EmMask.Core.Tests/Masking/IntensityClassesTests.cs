using EmMask.Core.Masking;
using EmMask.Core.Volumes;
using static EmMask.Core.Tests.Masking.TextureVolumes;

namespace EmMask.Core.Tests.Masking;

/// <summary>
/// The intensity classes: where no texture class shows resin, a clear intensity split whose side is one large, flat
/// region far from the rest gives the rules their references; a scattered, unclear or near side does not.
/// </summary>
public class IntensityClassesTests
{
    private const double LogThreshold = 0.6931; // log 2, the unimodal threshold

    /// <summary>
    /// A working-level section (1×64×96): the left <paramref name="resinColumns"/> columns (or, when
    /// <paramref name="scattered"/>, every other 2×2 cell of the image) hold "resin" of intensity N(<paramref name="resin"/>,
    /// <paramref name="resinSpread"/>) and log ratio N(0.5, 0.2); the rest tissue N(0.5, 0.05) with log ratio N(1.2, 0.2).
    /// </summary>
    private static (Volume<float> Smoothed, StainRule.Sample Sample) Level(float resin, float resinSpread, int resinColumns = 40, bool scattered = false, int seed = 3)
    {
        var shape = new Shape3(1, 64, 96);
        var smoothed = new Volume<float>(shape);
        var ratio = new Volume<float>(shape);
        var rng = new Random(seed);
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        for (int y = 0; y < shape.Y; y++)
        {
            for (int x = 0; x < shape.X; x++)
            {
                bool isResin = scattered ? ((y / 2) + (x / 2)) % 2 == 0 : x < resinColumns;
                smoothed[0, y, x] = isResin ? resin + (float)(resinSpread * Normal()) : 0.5f + (float)(0.05 * Normal());
                ratio[0, y, x] = (float)((isResin ? 0.5 : 1.2) + (0.2 * Normal()));
            }
        }

        return (smoothed, StainRule.Sample.Draw(ratio.Span, smoothed.Span, default, shape.X));
    }

    private static (StainRule.Reference Stain, ResinRule.Reference Resin)? Measure(Volume<float> smoothed, StainRule.Sample sample)
        => IntensityClasses.Measure(smoothed, null, sample, LogThreshold, ClassicalMaskOptions.Default.BlockSize, ClassicalMaskOptions.Default.ResinWindow, CancellationToken.None);

    /// <summary>Both sides flat and far apart: the resin is the side whose texture is lower, darker or brighter.</summary>
    [Theory]
    [InlineData(0.1f)]
    [InlineData(0.9f)]
    public void AClearSplitGivesTheFlatterSideTheResinReference(float resin)
    {
        var (smoothed, sample) = Level(resin, resinSpread: 0.01f);
        var split = Measure(smoothed, sample);
        Assert.NotNull(split);
        Assert.InRange(split.Value.Resin.ResinMedian, resin - 0.01f, resin + 0.01f);
        Assert.InRange(split.Value.Stain.TissueMedian, 0.48f, 0.52f);
    }

    [Fact]
    public void WhereTheFlatterSideFailsTheOtherIsNotTakenForResin()
    {
        // The flatter side (0.1, log ratio 0.5) in three strips of 11 columns, each 11 % of the section and a third of
        // the side (the region test wants 25 %, or 10 % holding half the side); the textured side (0.5 ± 0.02, log
        // ratio 1.2) two regions between them, the larger of which would pass every test as resin. No split counts
        // (the first version of the rule took it).
        var shape = new Shape3(1, 64, 96);
        var smoothed = new Volume<float>(shape);
        var ratio = new Volume<float>(shape);
        var rng = new Random(9);
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        for (int y = 0; y < shape.Y; y++)
        {
            for (int x = 0; x < shape.X; x++)
            {
                bool flat = x < 11 || (x >= 42 && x < 53) || x >= 85;
                smoothed[0, y, x] = flat ? 0.1f + (float)(0.01 * Normal()) : 0.5f + (float)(0.02 * Normal());
                ratio[0, y, x] = (float)((flat ? 0.5 : 1.2) + (0.2 * Normal()));
            }
        }

        var sample = StainRule.Sample.Draw(ratio.Span, smoothed.Span, default, shape.X);
        Assert.Null(Measure(smoothed, sample));

        // The same textured side as the only candidate (its texture now the lower) would have passed.
        var swapped = new StainRule.Sample([.. sample.LogRatio.Select(r => 1.7f - r)], sample.Smoothed);
        Assert.NotNull(Measure(smoothed, swapped));
    }

    [Fact]
    public void AScatteredSideIsNoResin()
    {
        var (smoothed, sample) = Level(resin: 0.1f, resinSpread: 0.01f, scattered: true);
        Assert.Null(Measure(smoothed, sample));
    }

    [Fact]
    public void ASmallSideIsNoResin()
    {
        // 8 of 96 columns: a region of 8 % of the section (the region test wants 25 %, or 10 % holding half the side).
        var (smoothed, sample) = Level(resin: 0.1f, resinSpread: 0.01f, resinColumns: 8);
        Assert.Null(Measure(smoothed, sample));
    }

    [Fact]
    public void AResinSideUnderAQuarterCountsWhenItIsOneRegion()
    {
        // 16 of 96 columns: one region of 17 % of the section, the whole side (resin at a tissue edge often covers less
        // than a quarter of the section; docs/real-em-decisions.md, 2026-12-07 03:57).
        var (smoothed, sample) = Level(resin: 0.1f, resinSpread: 0.01f, resinColumns: 16);
        var split = Measure(smoothed, sample);
        Assert.NotNull(split);
        Assert.InRange(split.Value.Resin.ResinMedian, 0.09f, 0.11f);
    }

    [Theory]
    [InlineData(0.30, 0.30, true)] // a quarter or more: one region whatever the rest
    [InlineData(0.25, 0.90, true)]
    [InlineData(0.17, 0.17, true)] // under a quarter: 10 % or more of the section, and half the side
    [InlineData(0.17, 0.33, true)]
    [InlineData(0.17, 0.35, false)]
    [InlineData(0.09, 0.09, false)]
    public void TheRegionTestWantsAQuarterOrMostOfTheSide(double largest, double total, bool coherent) =>
        Assert.Equal(coherent, IntensityClasses.IsCoherent((largest, total)));

    [Fact]
    public void AnUnclearSplitIsNoResin()
    {
        // The "resin" 0.4 ± 0.05 beside tissue 0.5 ± 0.05: Otsu's η about 0.5.
        var (smoothed, sample) = Level(resin: 0.4f, resinSpread: 0.05f);
        Assert.True(OtsuThreshold.Compute(sample.Smoothed).Separability < IntensityClasses.MinimumSeparability);
        Assert.Null(Measure(smoothed, sample));
    }

    [Fact]
    public void ASideLessThanEightOfItsSpreadsFromTheOtherIsNoResin()
    {
        // 0.2 ± 0.045 beside 0.5 ± 0.05: a clear split (η ≈ 0.85) but only 6.7 spreads apart.
        var (smoothed, sample) = Level(resin: 0.2f, resinSpread: 0.045f);
        Assert.True(OtsuThreshold.Compute(sample.Smoothed).Separability >= IntensityClasses.MinimumSeparability);
        Assert.Null(Measure(smoothed, sample));
    }

    [Fact]
    public void TheSeparationIsMeasuredOnTheWholeSideNotOnItsPeak()
    {
        // A resin class with a sharp peak (40 % at 0.10 ± 0.005) and a long, flat shoulder towards the tissue (60 % evenly
        // over 0.10–0.40), as pale cytoplasm between membranes can be; the tissue 0.5 ± 0.05. The resin rule re-centres on
        // the peak and finds it far more than 8 of its far-side spreads from the tissue; the whole side, measured
        // two-sided about its median, lies about 4 spreads away.
        var rng = new Random(5);
        var resin = Enumerable.Range(0, 400).Select(_ => 0.10f + (0.005f * (float)((rng.NextDouble() * 2) - 1)))
            .Concat(Enumerable.Range(0, 600).Select(_ => 0.10f + (0.30f * (float)rng.NextDouble()))).ToList();
        var tissue = Enumerable.Range(0, 1000).Select(_ => 0.5f + (0.05f * (float)((rng.NextDouble() * 2) - 1))).ToList();
        var sample = new StainRule.Sample(
            [.. resin.Select(_ => (float)LogThreshold - 1), .. tissue.Select(_ => (float)LogThreshold + 1)],
            [.. resin, .. tissue]);
        var stain = StainRule.Measure(sample, (float)LogThreshold);
        Assert.NotNull(stain);
        var peak = ResinRule.MeasureClass(sample, (float)LogThreshold, stain.Value, ClassicalMaskOptions.Default.ResinWindow);
        Assert.NotNull(peak);
        Assert.True(Math.Abs(stain.Value.TissueMedian - peak.Value.ResinMedian) >= ResinRule.MinimumSeparation * peak.Value.ResinSpread);
        Assert.False(IntensityClasses.IsDistinct(sample, (float)LogThreshold, stain.Value));
    }

    /// <summary>
    /// A section whose two halves both carry texture well above the noise (correlation 2; std 14 on the left, 20 on the
    /// right): no texture level separates them, but the left half is 100 darker. At 128² the intensity classes make the dark half resin; a 96²
    /// section (under <see cref="TissueEnvelope.KnownResinMinimumEdge"/>) is masked as before, all tissue.
    /// </summary>
    [Theory]
    [InlineData(128, true)]
    [InlineData(96, false)]
    public void TwoEquallyTexturedMaterialsSplitByIntensityOnlyInLargeSections(int edge, bool split)
    {
        var shape = new Shape3(1, edge, edge);
        var v = Resin(31, shape);
        AddTexture(v, 0, edge / 2, 2, 14, 32);
        AddTexture(v, edge / 2, edge, 2, 20, 33);
        for (int y = 0; y < edge; y++)
        {
            foreach (ref float x in v.Row(0, y)[..(edge / 2)])
            {
                x -= 100;
            }
        }

        var options = ClassicalMaskOptions.Default with { MinimumRegionSize = 0 };
        var result = ClassicalMasker.Run(v, options);
        var mask = result.Mask;
        var note = Assert.Single(result.Notes!, n => n.Contains("did not split into tissue and resin", StringComparison.Ordinal));
        Assert.Equal(split, note.Contains("the resin rule still found resin by its intensity", StringComparison.Ordinal)); // the user is told
        double dark = Mean(mask, 0, (edge / 2) - 8), pale = Mean(mask, (edge / 2) + 8, edge);
        Assert.True(pale > 0.95, $"pale half kept: {pale:F3} (dark {dark:F3})");
        if (split)
        {
            Assert.True(dark < 0.05, $"dark half called tissue: {dark:F3}");
        }
        else
        {
            Assert.True(dark > 0.95, $"dark half of a small section called non-brain: {dark:F3}");
        }
    }
}

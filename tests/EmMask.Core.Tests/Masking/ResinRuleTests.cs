using EmMask.Core.Masking;
using EmMask.Core.Volumes;
using static EmMask.Core.Tests.Masking.TextureVolumes;

namespace EmMask.Core.Tests.Masking;

/// <summary>The resin rule: flat material at the resin's own intensity is resin even where coarse shading gives it texture.</summary>
public class ResinRuleTests
{
    /// <summary>
    /// Resin (128, noise 6) on the left with slow shading (correlation length 8, std 4), weakly textured tissue 40 darker
    /// on the right (correlation 2, std 10); x splits at the middle. At level 2 (a section) or 1 (a stack) the shading
    /// is texture to the ratio.
    /// </summary>
    internal static Volume<float> ShadedResinBesideTissue(int seed, Shape3 shape)
    {
        var v = Resin(seed, shape);
        int half = shape.X / 2;
        AddTexture(v, 0, half, 8, 4, seed + 1);
        AddTexture(v, half, shape.X, 2, 10, seed + 2);
        for (int z = 0; z < shape.Z; z++)
        {
            for (int y = 0; y < shape.Y; y++)
            {
                foreach (ref float x in v.Row(z, y)[half..])
                {
                    x -= 40;
                }
            }
        }

        return v;
    }

    [Fact]
    public void ShadedResinAtACoarseLevelIsNonBrainOnlyWithTheRule()
    {
        var v = ShadedResinBesideTissue(80, new Shape3(1, 128, 192));
        var options = ClassicalMaskOptions.Default with { Level = 2, MinimumRegionSize = 0 };
        var result = ClassicalMasker.Run(v, options);
        var with = result.Mask;
        var without = ClassicalMasker.Run(v, options with { ResinWindow = 0 }).Mask;
        Assert.Contains(result.Notes!, n => n.EndsWith(", resin rule", StringComparison.Ordinal)); // the user is told
        Assert.True(Mean(without, 0, 80) > 0.5, $"shaded resin called tissue without the rule: {Mean(without, 0, 80):F3}");
        Assert.True(Mean(with, 0, 80) < 0.05, $"shaded resin called tissue with the rule: {Mean(with, 0, 80):F3}");
        Assert.True(Mean(with, 112, 192) > 0.95, $"tissue kept with the rule: {Mean(with, 112, 192):F3}");
    }

    [Fact]
    public void ANarrowResinChannelBetweenTissueStaysNonBrainAtACoarseLevel()
    {
        // One section: weakly textured tissue 40 darker than the resin, cut by a vertical resin channel 32 voxels wide
        // (8 cells at level 2: the resin weight's 3-box minimum and the smoothing leave the middle ones) that stops 16 rows short of the top and bottom edges, so in the section it is a hole in the
        // tissue. The pooled vote covers it; the resin markers open it and the hole filling leaves it open.
        // Resin (128, noise 6) in the left 24 columns and in the channel; tissue elsewhere.
        var shape = new Shape3(1, 128, 200);
        var v = TextureVolumes.Resin(90, shape);
        static bool Tissue(int y, int x) => x >= 24 && !(x is >= 84 and < 116 && y is >= 16 and < 112);
        AddTexture(v, 24, 84, 2, 10, 91);
        AddTexture(v, 116, 200, 2, 10, 92);
        AddTexture(v, 84, 116, 2, 10, 93, (0, 1, 0, 16));
        AddTexture(v, 84, 116, 2, 10, 94, (0, 1, 112, 128));
        for (int y = 0; y < 128; y++)
        {
            for (int x = 0; x < 200; x++)
            {
                if (Tissue(y, x))
                {
                    v[0, y, x] -= 40;
                }
            }
        }

        var options = ClassicalMaskOptions.Default with { Level = 2, MinimumRegionSize = 0 };
        var result = ClassicalMasker.Run(v, options);
        Assert.Contains(result.Notes!, n => n.EndsWith(", resin rule", StringComparison.Ordinal));
        double channel = Mean(result.Mask, 88, 112, (0, 1, 24, 104));
        Assert.True(channel < 0.2, $"the channel called tissue: {channel:F3}");
        Assert.True(Mean(result.Mask, 36, 76) > 0.95, $"tissue kept: {Mean(result.Mask, 36, 76):F3}");
        Assert.True(Mean(result.Mask, 124, 196) > 0.95, $"tissue kept: {Mean(result.Mask, 124, 196):F3}");
    }

    /// <summary>
    /// Sections of flat resin (128, noise 6) in the left 48 columns, weakly textured tissue 40 darker elsewhere, but for
    /// two flat regions that touch the border: at the right, rows 16–72, pale tissue 20 darker than the resin (far from
    /// its intensity); at the bottom, columns 80–128 from row 88, a pocket of resin. 128 × 200 per section.
    /// </summary>
    internal static Volume<float> PaleTissueAndResinPocket(int seed, int sections = 1)
    {
        var shape = new Shape3(sections, 128, 200);
        var v = TextureVolumes.Resin(seed, shape);
        var textured = v.Clone();
        AddTexture(textured, 48, 200, 2, 10, seed + 1);
        for (int z = 0; z < sections; z++)
        {
            for (int y = 0; y < 128; y++)
            {
                for (int x = 48; x < 200; x++)
                {
                    bool inPale = x >= 144 && y is >= 16 and < 72, inPocket = x is >= 80 and < 128 && y >= 88;
                    v[z, y, x] = inPale ? v[z, y, x] - 20 : inPocket ? v[z, y, x] : textured[z, y, x] - 40;
                }
            }
        }

        return v;
    }

    [Theory]
    [InlineData(95)]
    [InlineData(96)]
    public void FlatPaleTissueAtTheSectionsBorderIsFilledWhereTheResinIsKnown(int seed)
    {
        // PaleTissueAndResinPocket: both flat regions touch the border; only the pocket is at the resin's intensity.
        var v = PaleTissueAndResinPocket(seed);
        var options = ClassicalMaskOptions.Default with { Level = 2, MinimumRegionSize = 0 };
        var result = ClassicalMasker.Run(v, options);
        Assert.Contains(result.Notes!, n => n.EndsWith(", resin rule", StringComparison.Ordinal));
        double pale = Mean(result.Mask, 156, 200, (0, 1, 24, 64));
        Assert.True(pale > 0.95, $"the pale region called non-brain: {pale:F3}");
        double pocket = Mean(result.Mask, 92, 116, (0, 1, 100, 128));
        Assert.True(pocket < 0.2, $"the resin pocket called tissue: {pocket:F3}");
        Assert.True(Mean(result.Mask, 0, 32) < 0.05, $"resin called tissue: {Mean(result.Mask, 0, 32):F3}");

        // Without the resin rule nothing says what the section's resin is, and the border keeps the pale region open.
        var without = ClassicalMasker.Run(v, options with { ResinWindow = 0 }).Mask;
        double paleWithout = Mean(without, 156, 200, (0, 1, 24, 64));
        Assert.True(paleWithout < 0.8, $"the pale region without the rule: {paleWithout:F3}");
    }

    /// <summary>
    /// A sample of 10 000 voxels: textured tissue (log ratio 2, smoothed 10 ± 2) and <paramref name="flat"/> untextured
    /// voxels at 20 ± 0.1 (log ratio −1): a resin class 50 of its own spreads from the tissue.
    /// </summary>
    private static ResinRule.Reference? MeasureWithFlatVoxels(int flat)
    {
        const int n = 10_000;
        var random = new Random(83);
        var logRatio = new float[n];
        var smoothed = new float[n];
        for (int i = 0; i < n; i++)
        {
            bool resin = i % (n / flat) == 0;
            logRatio[i] = resin ? -1f : 2f;
            smoothed[i] = resin ? 20f + (0.2f * (float)(random.NextDouble() - 0.5)) : 10f + (4f * (float)(random.NextDouble() - 0.5));
        }

        var sample = StainRule.Sample.Draw(logRatio, smoothed, default, 101);
        var stain = StainRule.Measure(sample, 0f) ?? throw new InvalidOperationException("no stain reference");
        return ResinRule.Measure(sample, 0f, stain, 2);
    }

    [Fact]
    public void AResinClassUnderThreePercentIsNoResin()
    {
        // In all-tissue sections of the corpus the few flat voxels (1 %) can be tight and far from the tissue.
        Assert.Null(MeasureWithFlatVoxels(100));
        var reference = MeasureWithFlatVoxels(500);
        Assert.NotNull(reference);
        Assert.InRange(reference.Value.ResinMedian, 19.9f, 20.1f);
        Assert.InRange(reference.Value.ResinSpread, 0.01f, 0.2f);
    }

    [Fact]
    public void ResinCloseToTheTissueInItsOwnSpreadsIsNoDistinctMaterial()
    {
        // The same sample with the flat voxels spread over 20 ± 4: |m_t − m_r| is about 7 resin SDs, under 8.
        const int n = 10_000;
        var random = new Random(84);
        var logRatio = new float[n];
        var smoothed = new float[n];
        for (int i = 0; i < n; i++)
        {
            bool resin = i % 10 == 0;
            logRatio[i] = resin ? -1f : 2f;
            smoothed[i] = resin ? 20f + (4f * (float)(random.NextDouble() - 0.5)) : 10f + (4f * (float)(random.NextDouble() - 0.5));
        }

        var sample = StainRule.Sample.Draw(logRatio, smoothed, default, 101);
        var stain = StainRule.Measure(sample, 0f)!.Value;
        Assert.Null(ResinRule.Measure(sample, 0f, stain, 2));
        Assert.Null(ResinRule.Measure(sample, 0f, stain, 0)); // window 0: off
    }

    [Fact]
    public void PaleTissueInTheResinClassNeitherWidensTheResinsSpreadNorMovesItsMedian()
    {
        // The low-texture class: a resin peak at 20 ± 0.5 (uniform, SD about 0.29) plus pale tissue spread over 12–19,
        // half of the class, all on the tissue's side (textured tissue at 10 ± 2). The two-sided spread of the class
        // about its median puts the resin under 8 of its spreads from the tissue (measured as on SBF-SEM platelets in
        // grainy resin: 5.7); measured on the far side of the peak, re-centred on it, it is far.
        const int n = 12_000;
        var random = new Random(85);
        var logRatio = new float[n];
        var smoothed = new float[n];
        var low = new List<float>();
        for (int i = 0; i < n; i++)
        {
            int kind = i % 4; // 0: resin peak; 1: pale tissue; else textured tissue
            logRatio[i] = kind <= 1 ? -1f : 2f;
            smoothed[i] = kind == 0 ? 20f + (float)(random.NextDouble() - 0.5)
                : kind == 1 ? 12f + (7f * (float)random.NextDouble())
                : 10f + (4f * (float)(random.NextDouble() - 0.5));
            if (kind <= 1) low.Add(smoothed[i]);
        }

        var sample = StainRule.Sample.Draw(logRatio, smoothed, default, 101);
        var stain = StainRule.Measure(sample, 0f)!.Value;
        float twoSided = 1.4826f * Select.Median([.. low.Select(v => Math.Abs(v - stain.ResinMedian))]);
        Assert.True(Math.Abs(stain.TissueMedian - stain.ResinMedian) < ResinRule.MinimumSeparation * twoSided,
            $"the class's two-sided spread {twoSided} already separates");
        var reference = ResinRule.Measure(sample, 0f, stain, 2);
        Assert.NotNull(reference);
        Assert.InRange(reference.Value.ResinMedian, 19.8f, 20.2f);
        Assert.InRange(reference.Value.ResinSpread, 0.2f, 0.5f);
    }

    /// <summary>
    /// A sample as the SEM tissue edge averaged 4× shows it at level 2: textured tissue (log ratio 1..3, smoothed
    /// 0.48 ± 0.15), weakly textured pale tissue under the threshold 0 (log ratio −0.3..0, smoothed 0.45–0.8, 18 % of the
    /// sample) and flat resin (log ratio −1.5..−0.5, smoothed 0.89 ± 0.01, <paramref name="resinShare"/>).
    /// </summary>
    private static StainRule.Sample CoarseEdgeSample(double resinShare, int seed)
    {
        const int n = 12_000;
        var random = new Random(seed);
        var logRatio = new float[n];
        var smoothed = new float[n];
        for (int i = 0; i < n; i++)
        {
            double u = random.NextDouble();
            float a = (float)random.NextDouble(), b = (float)random.NextDouble();
            (logRatio[i], smoothed[i]) = u < resinShare ? (-1.5f + a, 0.89f + (0.02f * (b - 0.5f)))
                : u < resinShare + 0.18 ? (-0.3f + (0.3f * a), 0.45f + (0.35f * b))
                : (1f + (2f * a), 0.48f + (0.3f * (b - 0.5f)));
        }

        return StainRule.Sample.Draw(logRatio, smoothed, default, 101);
    }

    [Fact]
    public void WeaklyTexturedTissueThatOutnumbersTheResinInTheClassDoesNotHideItsPeak()
    {
        // Resin 14 % against 18 % weakly textured tissue in the class: the class's median lies in the tissue and its
        // far-side spread reaches the resin, so the class as a whole shows no distinct flat material; its more untextured
        // half does.
        var sample = CoarseEdgeSample(0.14, 86);
        var stain = StainRule.Measure(sample, 0f)!.Value;
        Assert.Null(ResinRule.MeasureClass(sample, 0f, stain, 3));
        Assert.InRange(ResinRule.UntexturedHalf(sample.LogRatio, 0f), -0.3f, 0f); // the median lies in the tissue
        var reference = ResinRule.Measure(sample, 0f, stain, 3);
        Assert.NotNull(reference);
        Assert.InRange(reference.Value.ResinMedian, 0.88f, 0.90f);
        Assert.InRange(reference.Value.ResinSpread, 0.001f, 0.02f);
    }

    [Fact]
    public void TheUntexturedHalfOfAnAllTissueClassIsNoResin()
    {
        // No resin: the class is the weakly textured pale tissue alone, spread over 0.45–0.8, in either half.
        var sample = CoarseEdgeSample(0, 87);
        var stain = StainRule.Measure(sample, 0f)!.Value;
        Assert.Null(ResinRule.Measure(sample, 0f, stain, 3));
        Assert.Equal(float.PositiveInfinity, ResinRule.UntexturedHalf([1f, 2f], 0f)); // an empty class
    }

    [Fact]
    public void WeightIsHighOnlyForFlatResinIntensityVoxels()
    {
        // m_t = 10, m_r = 20, σ_t = 2 (halfway at 15); σ_r = 0.5, window 2 (up to 1 from m_r), texture ceiling 0.
        // Each case fills a 3×3 patch of one section, so the 3-box minimum leaves its centre as it is.
        var stain = new StainRule.Reference(10f, 20f, 2f);
        var resin = new ResinRule.Reference(20f, 0.5f, 2f, 0f);
        float[] s = [20f, 20.5f, 23f, 14f, 10f, 20f, 20f];
        float[] logRatio = [-1f, -1f, -1f, -1f, -1f, 2f, -1f];
        byte[] ok = [1, 1, 1, 1, 1, 1, 0];
        var shape = new Shape3(1, 3, 3 * s.Length);
        var smoothed = new Volume<float>(shape);
        var ratio = new Volume<float>(shape);
        var valid = new Volume<byte>(shape);
        for (int y = 0; y < 3; y++)
        {
            for (int x = 0; x < shape.X; x++)
            {
                smoothed[0, y, x] = s[x / 3];
                ratio[0, y, x] = logRatio[x / 3];
                valid[0, y, x] = ok[x / 3];
            }
        }

        var weight = ResinRule.Weight(ratio, smoothed, resin, stain, valid, planar: true, default);
        float W(int k) => weight[0, 1, (3 * k) + 1];
        Assert.True(W(0) > 0.9, $"at m_r, untextured: {W(0)}");
        Assert.True(W(1) > 0.5, $"within the window: {W(1)}");
        Assert.True(W(2) < 0.01, $"outside the window (6 resin SDs): {W(2)}");
        Assert.True(W(3) < 0.01, $"on the tissue's side of halfway: {W(3)}");
        Assert.True(W(4) < 0.01, $"at the tissue's intensity: {W(4)}");
        Assert.True(W(5) < 0.01, $"textured above the ceiling: {W(5)}");
        Assert.Equal(0f, W(6)); // invalid
        Assert.True(weight[0, 1, 5] < 0.01, $"a resin cell beside one outside the window takes its weight: {weight[0, 1, 5]}");
    }

    [Fact]
    public void ErosionTakesTheMinimumOverTheThreeBox()
    {
        var v = new Volume<float>(new Shape3(3, 5, 5));
        v.Span.Fill(1f);
        v[1, 2, 2] = 0f;
        var section = new Volume<float>(new Shape3(3, 5, 5));
        section.Span.Fill(1f);
        section[1, 2, 2] = 0f;
        ResinRule.Erode(v, planar: false, default);
        ResinRule.Erode(section, planar: true, default);
        Assert.Equal(27, v.Span.ToArray().Count(x => x == 0f)); // the 3×3×3 box around it
        Assert.Equal(9, section.Span.ToArray().Count(x => x == 0f)); // the 3×3 square in its section
        Assert.Equal(0f, v[0, 1, 3]);
        Assert.Equal(1f, v[0, 0, 0]);
    }

    [Fact]
    public void ThePlanCarriesTheResinReferenceThroughJson()
    {
        // The shaded resin 40 sections deep, masked as a volume at level 1 (as the block-wise test): the rule acts.
        var v = ShadedResinBesideTissue(93, new Shape3(40, 96, 160));
        var options = ClassicalMaskOptions.Default with { Mode = MaskingMode.ThreeD, Level = 1 };
        var plan = ClassicalMasker.Plan(v, v.Shape, v.VoxelSize, options);
        Assert.NotNull(plan.Volume?.Resin);
        var back = ClassicalPlan.FromJson(plan.ToJson());
        Assert.Equal(plan.Volume!.Resin, back.Volume!.Resin);
        Assert.Equal(plan.Describe(), back.Describe());
        Assert.Contains("resin ", plan.Describe());
    }

    [Fact]
    public void ResinWindowIsValidated()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => (ClassicalMaskOptions.Default with { ResinWindow = -1 }).Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => (ClassicalMaskOptions.Default with { ResinWindow = double.NaN }).Validate());
    }
}

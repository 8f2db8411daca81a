using EmMask.Core.Evaluation;
using EmMask.Core.Masking;
using EmMask.Core.Phantom;
using EmMask.Core.PostProcessing;
using EmMask.Core.Volumes;

namespace EmMask.Core.Tests.Masking;

/// <summary>
/// Quality of the classical mask + clean preset on the project's phantoms, both contrasts. Brain versus resin (the job of a
/// texture measure) must reach Dice >= 0.94 on every seed. Tracheae are non-brain with a stained wall: the stain rule
/// (<see cref="ClassicalMaskOptions.DenseThreshold"/>) keeps stained material as tissue, and the trachea rule
/// (<see cref="ClassicalMaskOptions.TracheaGap"/>) takes a stained wall around a resin-like lumen out again. Overall Dice
/// must reach 0.94 per seed and average >= 0.965 (measured 0.964–0.991, mean 0.978 with the refinement at level 0;
/// 0.974 before it; without the trachea rule the mean was 0.962 and seed 0 0.92, and before the real-EM work 0.969).
/// </summary>
public class PhantomQualityTests
{
    private static readonly int[] Seeds = [0, 1, 2, 3, 4, 5];

    public static TheoryData<int, bool> Cases()
    {
        var data = new TheoryData<int, bool>();
        foreach (int seed in Seeds)
        {
            data.Add(seed, false);
            data.Add(seed, true);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ReachesDice94WithAndWithoutTracheae(int seed, bool invert)
    {
        var (overall, withoutTracheae) = Score(seed, invert);
        Assert.True(withoutTracheae.Dice >= 0.94, $"seed {seed} invert {invert}: brain-vs-resin dice {withoutTracheae.Dice:F4}");
        Assert.True(overall.Dice >= 0.94, $"seed {seed} invert {invert}: overall dice {overall.Dice:F4} precision {overall.Precision:F4} recall {overall.Recall:F4}");
    }

    [Fact]
    public void MeanDiceOverSeedsAndContrastsIsAtLeast965()
    {
        var dices = Seeds.SelectMany(s => new[] { Score(s, false).Overall.Dice, Score(s, true).Overall.Dice }).ToArray();
        Assert.True(dices.Average() >= 0.965, $"mean dice {dices.Average():F4}: {string.Join(", ", dices.Select(d => d.ToString("F3")))}");
    }

    [Fact]
    public void TheLevelTheThresholdInUseSplitsMostClearlyWins()
    {
        // Validation phantom 1003: levels 0 and 1 both separate, both valleys lie below 2, so 2 is the threshold. Otsu's η
        // favours level 0 (0.85 against 0.80), but at 2 level 0 cuts the large pale cells (η 0.61 against 0.79): Dice
        // 0.824 when the level was chosen by Otsu's η, 0.993 now.
        var phantom = EmPhantom.Generate(new PhantomOptions { Seed = 1003, Artefacts = false, Shape = new Shape3(64, 128, 128) });
        var result = ClassicalMasker.Run(phantom.Raw);
        PostProcessPresets.Get("clean").Apply(result.Mask);
        var dice = MaskMetrics.Compute(result.Mask, phantom.Truth).Dice;
        Assert.True(dice >= 0.97, $"dice {dice:F4}");
    }

    [Fact]
    public void BoundaryRefinementAtLevel0TakesTheHaloBack()
    {
        // Development phantom 3010 works at level 0, where the texture window spreads tissue 1–3 voxels into the resin:
        // Dice 0.926 without refinement there (as before 2026-12-06), 0.965 with it.
        var phantom = EmPhantom.Generate(new PhantomOptions { Seed = 3010, Invert = true, Shape = new Shape3(64, 128, 128) });
        MaskMetrics Score(bool refine)
        {
            var result = ClassicalMasker.Run(phantom.Raw, ClassicalMaskOptions.Default with { RefineBoundary = refine });
            PostProcessPresets.Get("clean").Apply(result.Mask);
            return MaskMetrics.Compute(result.Mask, phantom.Truth);
        }

        var with = Score(true);
        var without = Score(false);
        Assert.True(with.Dice >= 0.95, $"dice {with.Dice:F4} (without refinement {without.Dice:F4})");
        Assert.True(with.FalsePositives < without.FalsePositives / 2, $"false positives {with.FalsePositives} with, {without.FalsePositives} without");
    }

    private static (MaskMetrics Overall, MaskMetrics WithoutTracheae) Score(int seed, bool invert)
    {
        var layers = new PhantomLayers();
        var phantom = EmPhantom.Generate(new PhantomOptions { Seed = seed, Invert = invert }, default, -1, layers);
        var result = ClassicalMasker.Run(phantom.Raw);
        PostProcessPresets.Get("clean").Apply(result.Mask);
        var region = phantom.Truth.Like<byte>();
        var r = region.Span;
        for (int i = 0; i < r.Length; i++)
        {
            r[i] = layers.Tube[i] == 0 ? (byte)1 : (byte)0;
        }

        return (MaskMetrics.Compute(result.Mask, phantom.Truth), MaskMetrics.Compute(result.Mask, phantom.Truth, region));
    }
}

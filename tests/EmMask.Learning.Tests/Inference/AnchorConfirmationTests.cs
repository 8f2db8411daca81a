using System.Text.RegularExpressions;
using EmMask.Core.Inference;
using EmMask.Core.Volumes;
using EmMask.Learning.Inference;

namespace EmMask.Learning.Tests.Inference;

/// <summary>
/// The wider pass that confirms the hysteresis's anchors runs only where an anchor could be, yet the mask is the one an
/// unskipped pass at twice the scale gives (<see cref="NonBrainHysteresis.ConfirmationScore"/>).
/// </summary>
public class AnchorConfirmationTests
{
    [Fact]
    public void SkippingTheWiderPassWhereNoAnchorCanBeChangesNothing()
    {
        // builtin:identity: the probability is the normalised image. Resin (0) along x < 24; bright tissue elsewhere,
        // holding a grey patch (0.3, doubt) with one black voxel: sure at full resolution, not in the wider view.
        var input = new Volume<float>(new Shape3(16, 96, 96));
        input.Span.Fill(1f);
        for (int z = 0; z < 16; z++)
        {
            for (int y = 0; y < 96; y++)
            {
                for (int x = 0; x < 96; x++)
                {
                    input[z, y, x] = x < 24 ? 0f : y is >= 40 and < 56 && x is >= 40 and < 56 ? 0.3f : 1f;
                }
            }
        }

        input[8, 48, 48] = 0f;
        var options = new UNetMaskOptions { Model = "builtin:identity", Roi = 16, Scale = 1, Tta = 1, Envelope = false, SkipTiles = false, Device = "cpu" };
        using var predictors = new PredictorProvider();
        var masker = new UNetMasker(predictors);
        var p = masker.Run(input, options with { Hysteresis = 0 }).Result.Confidence;
        var wide = masker.Run(input, options with { Hysteresis = 0, Scale = 2 }).Result.Confidence;
        var result = masker.Run(input, options).Result; // the defaults: 0.01, confirmed under 0.2

        var expected = p.Clone();
        NonBrainHysteresis.Apply(expected, new(0.01, wide, 0.2));
        Assert.Equal(ProbabilityMask.From(expected).Span.ToArray(), result.Mask.Span.ToArray());
        Assert.Equal(1, result.Mask[8, 48, 48]); // the unconfirmed patch became tissue
        Assert.Equal(0, result.Mask[8, 48, 10]); // the resin stayed non-brain
        var unconfirmed = p.Clone();
        NonBrainHysteresis.Apply(unconfirmed, new(0.01));
        Assert.Equal(0, ProbabilityMask.From(unconfirmed)[8, 48, 48]); // without the wider view the patch stays non-brain

        var note = Assert.Single(result.Notes!, n => n.Contains("to confirm the hysteresis's anchors", StringComparison.Ordinal));
        var counts = Regex.Match(note, @"and (\d+) of (\d+) at scale 2");
        Assert.True(counts.Success, note);
        Assert.True(int.Parse(counts.Groups[1].Value) < int.Parse(counts.Groups[2].Value), $"no window skipped: {note}");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void EveryPossibleAnchorGetsTheUnskippedWiderValue(bool planar)
    {
        // Sparse possible anchors (values under 0.03) in a random image: the wider pass skips most windows, and every
        // possible anchor still reads exactly the value of the pass that skips none (trilinear upsampling reads the
        // neighbouring coarse cells, whose windows must run too: the score grows the anchors by the factor).
        var rng = new Random(planar ? 7 : 3);
        var shape = planar ? new Shape3(3, 250, 270) : new Shape3(60, 130, 140);
        var input = new Volume<float>(shape);
        foreach (ref float v in input.Span)
        {
            v = 0.05f + (0.95f * (float)rng.NextDouble());
        }

        for (int k = 0; k < 8; k++)
        {
            input[rng.Next(shape.Z), rng.Next(shape.Y), rng.Next(shape.X)] = 0f;
        }

        var predictor = BuiltinPredictors.Create("identity");
        var options = new SlidingWindowOptions(new Shape3(16, 16, 16), 0.25, 4, Scale: 2, SkipThreshold: UNetMasker.SkipConfidence);
        var full = SlidingWindowInferer.Run(input, predictor, options with { SkipThreshold = null }, new Progress<Core.Progress.ProgressReport>(), default);
        var score = NonBrainHysteresis.ConfirmationScore(input, null, 0.03, 2);
        var skipped = SlidingWindowInferer.Run(input, predictor, options, new Progress<Core.Progress.ProgressReport>(), default, score);

        Assert.True(skipped.Skipped > skipped.Windows / 3, $"skipped {skipped.Skipped} of {skipped.Windows}: nothing under test");
        int anchors = 0;
        for (int i = 0; i < input.Span.Length; i++)
        {
            if (input.Span[i] < 0.03f)
            {
                anchors++;
                Assert.Equal(full.Probabilities.Span[i], skipped.Probabilities.Span[i]);
            }
        }

        Assert.True(anchors >= 7, "too few possible anchors");
    }
}

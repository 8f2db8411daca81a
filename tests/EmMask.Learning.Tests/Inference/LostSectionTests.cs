using EmMask.Core.Inference;
using EmMask.Core.Volumes;
using EmMask.Learning.Inference;

namespace EmMask.Learning.Tests.Inference;

/// <summary>
/// A lost section (stored blank, saturated or NaN) carries no image, so it must not change how the network sees the
/// others: the model's normalisation leaves it out of its percentiles (<c>IntensityNormalization.LostSections</c>).
/// Before 2026-12-07 one blank section of 16 made the U-Net call 43 % of an all-tissue Platynereis stack non-brain.
/// </summary>
public class LostSectionTests
{
    [Theory]
    [InlineData(0f)]
    [InlineData(255f)]
    [InlineData(float.NaN)]
    public void ALostSectionLeavesTheOtherSectionsAsWithoutIt(float lostValue)
    {
        // builtin:identity: the probability is the normalised image, so any change of the normalisation shows.
        var voxel = new VoxelSize(40, 8, 8); // serial sections: predicted one by one
        var image = new Volume<float>(new Shape3(6, 48, 48), voxel);
        var s = image.Span;
        var random = new Random(3);
        for (int i = 0; i < s.Length; i++)
        {
            s[i] = 60 + (float)(90 * random.NextDouble());
        }

        var withLost = image.Clone();
        withLost.Span.Slice(2 * image.Shape.SliceLength, image.Shape.SliceLength).Fill(lostValue);
        var without = new Volume<float>(new Shape3(5, 48, 48), voxel);
        for (int z = 0, k = 0; z < 6; z++)
        {
            if (z != 2)
            {
                image.Span.Slice(z * image.Shape.SliceLength, image.Shape.SliceLength).CopyTo(without.Span.Slice(k++ * image.Shape.SliceLength));
            }
        }

        var options = new UNetMaskOptions { Model = "builtin:identity", Roi = 16, Scale = 1, Tta = 1, Envelope = false, SkipTiles = false, Hysteresis = 0, Device = "cpu" };
        using var predictors = new PredictorProvider();
        var masker = new UNetMasker(predictors);
        var a = masker.Run(withLost, options).Result.Confidence;
        var b = masker.Run(without, options).Result.Confidence;

        int plane = image.Shape.SliceLength;
        for (int z = 0, k = 0; z < 6; z++)
        {
            if (z == 2)
            {
                continue;
            }

            var got = a.Span.Slice(z * plane, plane);
            var expected = b.Span.Slice(k++ * plane, plane);
            for (int i = 0; i < plane; i++)
            {
                Assert.True(Math.Abs(got[i] - expected[i]) < 1e-6f, $"section {z}, voxel {i}: {got[i]} with the lost section, {expected[i]} without it");
            }
        }
    }
}

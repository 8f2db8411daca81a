using EmMask.Core.Inference;
using EmMask.Core.Volumes;

namespace EmMask.Core.Tests.Inference;

/// <summary>Test-time flips: each window also predicted mirrored, mirrored back and averaged.</summary>
public class FlipAveragingPredictorTests
{
    private static readonly Shape3 Patch = new(2, 3, 4);

    [Fact]
    public void MirroringTwiceIsTheIdentityAndMovesTheRightVoxel()
    {
        var source = Enumerable.Range(0, (int)Patch.Length).Select(i => (float)i).ToArray();
        var once = new float[source.Length];
        var twice = new float[source.Length];
        bool[] zx = [true, false, true];
        FlipAveragingPredictor.Mirror(source, once, Patch, zx);
        FlipAveragingPredictor.Mirror(once, twice, Patch, zx);
        Assert.Equal(source, twice);
        Assert.Equal(source[(((1 * 3) + 2) * 4) + 3], once[(((0 * 3) + 2) * 4) + 0]); // (z, y, x) = (0, 2, 0) <- (1, 2, 3)
    }

    [Theory]
    [InlineData(4)]
    [InlineData(8)]
    public void AnEquivariantPredictorIsUnchanged(int flips)
    {
        var batch = Enumerable.Range(0, 2 * (int)Patch.Length).Select(i => MathF.Sin(i)).ToArray();
        var plain = new float[batch.Length];
        var averaged = new float[batch.Length];
        new Squared().Predict(batch, 2, Patch, plain);
        new FlipAveragingPredictor(new Squared(), flips).Predict(batch, 2, Patch, averaged);
        for (int i = 0; i < plain.Length; i++)
        {
            Assert.Equal(plain[i], averaged[i], 1e-6f);
        }
    }

    [Fact]
    public void APositionDependentPredictorIsAveragedOverTheFlips()
    {
        // The predictor answers x / 3 wherever it is asked; x-flipped, mirrored back, that is (3 - x) / 3. With 4 flips
        // (none, z, y, x) three answers are x / 3 and one is (3 - x) / 3: mean (2x + 3) / 12. With 8, half are flipped: 1/2.
        var batch = new float[Patch.Length];
        var four = new float[batch.Length];
        var eight = new float[batch.Length];
        var counting = new XPosition();
        new FlipAveragingPredictor(counting, 4).Predict(batch, 1, Patch, four);
        Assert.Equal(4, counting.Calls);
        new FlipAveragingPredictor(new XPosition(), 8).Predict(batch, 1, Patch, eight);
        for (int i = 0; i < batch.Length; i++)
        {
            int x = i % 4;
            Assert.Equal(((2 * x) + 3) / 12f, four[i], 1e-6f);
            Assert.Equal(0.5f, eight[i], 1e-6f);
        }
    }

    [Fact]
    public void OnlyOneFourOrEightFlipsAreAccepted()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new FlipAveragingPredictor(new Squared(), 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SlidingWindowOptions(new Shape3(16, 16, 16), TestTimeFlips: 3).Validate());
    }

    [Fact]
    public void TheInfererRunsEveryWindowOncePerFlip()
    {
        var input = SlidingWindowInfererTests.Random(new Shape3(16, 32, 32), seed: 5);
        var plain = new XPosition();
        var flipped = new XPosition();
        var a = SlidingWindowInferer.Run(input, plain, new SlidingWindowOptions(new Shape3(16, 16, 16), 0.25, 1));
        var b = SlidingWindowInferer.Run(input, flipped, new SlidingWindowOptions(new Shape3(16, 16, 16), 0.25, 1, TestTimeFlips: 8));
        Assert.Equal(8 * plain.Calls, flipped.Calls);
        Assert.Equal(a.Windows, b.Windows);
        Assert.NotEqual(a.Probabilities.Span.ToArray(), b.Probabilities.Span.ToArray());
        Assert.All(b.Probabilities.Span.ToArray(), p => Assert.Equal(0.5f, p, 1e-5f)); // (x + 15 - x) / 30 on average
    }

    private sealed class Squared : IPatchPredictor
    {
        public void Predict(ReadOnlySpan<float> batch, int batchSize, Shape3 patch, Span<float> probabilities)
        {
            for (int i = 0; i < batch.Length; i++)
            {
                probabilities[i] = batch[i] * batch[i];
            }
        }
    }

    private sealed class XPosition : IPatchPredictor
    {
        public int Calls { get; private set; }

        public void Predict(ReadOnlySpan<float> batch, int batchSize, Shape3 patch, Span<float> probabilities)
        {
            Calls++;
            for (int i = 0; i < batch.Length; i++)
            {
                probabilities[i] = (i % patch.X) / (float)(patch.X - 1);
            }
        }
    }
}

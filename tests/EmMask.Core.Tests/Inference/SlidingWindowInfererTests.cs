using System.Diagnostics;
using EmMask.Core.Inference;
using EmMask.Core.Progress;
using EmMask.Core.Volumes;

namespace EmMask.Core.Tests.Inference;

public class SlidingWindowInfererTests
{
    [Theory]
    [InlineData(40, 50, 61, 16, 32, 32, 0.25, 3)]
    [InlineData(5, 9, 7, 16, 16, 16, 0.5, 2)]    // smaller than the window on every axis
    [InlineData(1, 37, 100, 16, 32, 32, 0.6, 5)] // a 2D image
    [InlineData(17, 33, 35, 16, 16, 16, 0.0, 1)]
    public void Identity_predictor_reproduces_the_input(int z, int y, int x, int rz, int ry, int rx, double overlap, int batch)
    {
        var input = Random(new Shape3(z, y, x), seed: z + y + x);
        var predictor = new IdentityPredictor();
        var result = SlidingWindowInferer.Run(input, predictor, new SlidingWindowOptions(new Shape3(rz, ry, rx), overlap, batch));

        Assert.Equal(input.Shape, result.Probabilities.Shape);
        AssertClose(input.Span, result.Probabilities.Span, 1e-5f);
        Assert.Equal(0, result.Skipped);
        Assert.Equal(result.Windows, predictor.Windows);
        Assert.All(predictor.Patches, p => Assert.Equal(0, p.Z % 16 + p.Y % 16 + p.X % 16));
    }

    [Fact]
    public void Blend_is_weighted_by_the_gaussian()
    {
        // Each window predicts its own index: where two windows overlap the result lies strictly between them and
        // nearer the window whose centre is closer.
        var input = new Volume<float>(new Shape3(16, 16, 48));
        var predictor = new WindowIndexPredictor();
        var result = SlidingWindowInferer.Run(input, predictor, new SlidingWindowOptions(new Shape3(16, 16, 32), 0.5, 1)).Probabilities;

        // Windows start at x = 0 and 16; voxels 16..31 are shared.
        Assert.Equal(0f, result[8, 8, 5]);
        Assert.Equal(1f, result[8, 8, 40]);
        // x = 22 is 6.5 voxels from window 0's centre (15.5) and 9.5 from window 1's (31.5); sigma = 32/8.
        double w0 = Math.Exp(-6.5 * 6.5 / 32), w1 = Math.Exp(-9.5 * 9.5 / 32);
        Assert.Equal(w1 / (w0 + w1), result[8, 8, 22], 5);
        Assert.InRange(result[8, 8, 25], 0.5f, 0.99f);
        Assert.Equal(1f, result[8, 8, 22] + result[8, 8, 25], 5); // symmetric about the overlap centre
        Assert.Equal(1f, result[8, 8, 16] + result[8, 8, 31], 5);
    }

    [Fact]
    public void Batches_and_progress_cover_every_window()
    {
        var input = Random(new Shape3(20, 40, 40), 3);
        var reports = new List<ProgressReport>();
        var predictor = new IdentityPredictor();
        var result = SlidingWindowInferer.Run(input, predictor, new SlidingWindowOptions(new Shape3(16, 16, 16), 0.25, 3), new SyncProgress(reports));

        Assert.Equal(2 * 3 * 3, result.Windows);
        Assert.Equal([3, 3, 3, 3, 3, 3], predictor.BatchSizes);
        Assert.Equal(6, reports.Count);
        Assert.Equal(1.0, reports[^1].Fraction);
        Assert.True(reports.Zip(reports.Skip(1)).All(p => p.First.Fraction < p.Second.Fraction));
    }

    [Fact]
    public void Skipping_resin_windows_changes_nothing_when_their_prediction_is_zero()
    {
        // Tissue (textured) only in the first 24 x columns; the threshold predictor says 0 on flat resin anyway.
        var shape = new Shape3(16, 32, 96);
        var input = new Volume<float>(shape);
        var rng = new Random(5);
        for (int z = 0; z < shape.Z; z++)
        {
            for (int y = 0; y < shape.Y; y++)
            {
                for (int x = 0; x < 24; x++)
                {
                    input[z, y, x] = 0.5f + (float)rng.NextDouble();
                }
            }
        }

        var options = new SlidingWindowOptions(new Shape3(16, 32, 32), 0.25, 2);
        var full = SlidingWindowInferer.Run(input, new ThresholdPredictor(), options);
        var counting = new ThresholdPredictor();
        var skipped = SlidingWindowInferer.Run(input, counting, options with { SkipThreshold = 0.05f });

        Assert.Equal(4, full.Windows);
        Assert.Equal(0, full.Skipped);
        Assert.Equal(2, skipped.Skipped); // windows at x = 48 and 64 see only resin (box radius 2 reaches x = 25)
        Assert.Equal(2, counting.Windows);
        AssertClose(full.Probabilities.Span, skipped.Probabilities.Span, 1e-6f);
    }

    [Fact]
    public void Precomputed_skip_score_is_used()
    {
        var input = Random(new Shape3(16, 16, 64), 9);
        var score = new Volume<float>(input.Shape);
        score[3, 3, 3] = 1; // only the first window has a score above the threshold
        var predictor = new IdentityPredictor();
        var result = SlidingWindowInferer.Run(input, predictor, new SlidingWindowOptions(new Shape3(16, 16, 16), 0, 4, SkipThreshold: 0.5f), skipScore: score);

        Assert.Equal(4, result.Windows);
        Assert.Equal(3, result.Skipped);
        Assert.Equal(input[1, 1, 1], result.Probabilities[1, 1, 1], 5);
        Assert.Equal(0f, result.Probabilities[1, 1, 40]);
        Assert.Throws<ArgumentException>(() => SlidingWindowInferer.Run(input, predictor, new SlidingWindowOptions(new Shape3(16, 16, 16), SkipThreshold: 0.5f), skipScore: new Volume<float>(new Shape3(1, 1, 1))));
    }

    [Fact]
    public void Scale_two_on_a_smooth_volume_matches_scale_one()
    {
        var shape = new Shape3(32, 48, 40);
        var input = new Volume<float>(shape);
        for (int z = 0; z < shape.Z; z++)
        {
            for (int y = 0; y < shape.Y; y++)
            {
                for (int x = 0; x < shape.X; x++)
                {
                    input[z, y, x] = 0.5f + (0.4f * MathF.Sin(z / 9f) * MathF.Cos((y + x) / 13f));
                }
            }
        }

        var options = new SlidingWindowOptions(new Shape3(16, 16, 16), 0.25, 4);
        var one = SlidingWindowInferer.Run(input, new IdentityPredictor(), options);
        var counting = new IdentityPredictor();
        var two = SlidingWindowInferer.Run(input, counting, options with { Scale = 2 });

        Assert.Equal(shape, two.Probabilities.Shape);
        Assert.True(two.Windows < one.Windows);
        float maxError = 0;
        for (int i = 0; i < input.Span.Length; i++)
        {
            maxError = Math.Max(maxError, Math.Abs(one.Probabilities.Span[i] - two.Probabilities.Span[i]));
        }

        Assert.InRange(maxError, 0, 0.03f);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Destination_receives_the_same_probabilities(int scale)
    {
        var input = Random(new Shape3(20, 30, 40), 11);
        var options = new SlidingWindowOptions(new Shape3(16, 16, 16), 0.25, 2, scale);
        var expected = SlidingWindowInferer.Run(input, new IdentityPredictor(), options).Probabilities;
        var destination = new Volume<float>(input.Shape);
        destination.Span.Fill(42); // stale content must not leak into the blend

        var result = SlidingWindowInferer.Run(input, new IdentityPredictor(), options, destination: destination);

        Assert.Same(destination, result.Probabilities);
        Assert.Equal(expected.Span.ToArray(), destination.Span.ToArray());
        Assert.Throws<ArgumentException>(() => SlidingWindowInferer.Run(input, new IdentityPredictor(), options, destination: input));
        Assert.Throws<ArgumentException>(() => SlidingWindowInferer.Run(input, new IdentityPredictor(), options, destination: new Volume<float>(new Shape3(1, 2, 3))));
    }

    [Fact]
    public void Cancel_throws_promptly_between_batches()
    {
        var input = Random(new Shape3(32, 64, 64), 1);
        using var cts = new CancellationTokenSource();
        var predictor = new IdentityPredictor { DelayMs = 50, OnBatch = n => { if (n == 2) { cts.Cancel(); } } };
        var watch = Stopwatch.StartNew();

        Assert.Throws<OperationCanceledException>(() =>
            SlidingWindowInferer.Run(input, predictor, new SlidingWindowOptions(new Shape3(16, 16, 16), 0.5, 1), cancellationToken: cts.Token));
        Assert.Equal(2, predictor.BatchSizes.Count);
        Assert.True(watch.ElapsedMilliseconds < 2000);
    }

    [Fact]
    public void Bad_options_name_the_parameter()
    {
        var input = new Volume<float>(new Shape3(4, 4, 4));
        var p = new IdentityPredictor();
        Assert.Equal("BatchSize", Assert.Throws<ArgumentOutOfRangeException>(() => SlidingWindowInferer.Run(input, p, new SlidingWindowOptions(new Shape3(4, 4, 4), BatchSize: 0))).ParamName);
        Assert.Equal("Scale", Assert.Throws<ArgumentOutOfRangeException>(() => SlidingWindowInferer.Run(input, p, new SlidingWindowOptions(new Shape3(4, 4, 4), Scale: 0))).ParamName);
        Assert.Equal("Overlap", Assert.Throws<ArgumentOutOfRangeException>(() => SlidingWindowInferer.Run(input, p, new SlidingWindowOptions(new Shape3(4, 4, 4), Overlap: -0.1))).ParamName);
        Assert.Equal("RoiSize", Assert.Throws<ArgumentOutOfRangeException>(() => SlidingWindowInferer.Run(input, p, new SlidingWindowOptions(new Shape3(4, 0, 4)))).ParamName);
        Assert.Throws<ArgumentException>(() => SlidingWindowInferer.Run(new Volume<float>(new Shape3(0, 4, 4)), p, new SlidingWindowOptions(new Shape3(4, 4, 4))));
    }

    [Fact]
    public void Local_standard_deviation_of_flat_and_step()
    {
        var flat = new Volume<float>(new Shape3(5, 6, 7));
        flat.Span.Fill(3);
        Assert.All(LocalStandardDeviation.Compute(flat, 1).Span.ToArray(), v => Assert.Equal(0f, v, 5));

        var step = new Volume<float>(new Shape3(1, 1, 10));
        for (int x = 5; x < 10; x++)
        {
            step[0, 0, x] = 1;
        }

        var sd = LocalStandardDeviation.Compute(step, 1);
        Assert.Equal(0f, sd[0, 0, 1], 5);
        Assert.Equal(MathF.Sqrt(2f / 9f), sd[0, 0, 4], 4); // box {0,0,1}: mean 1/3, var 2/9
    }

    [Theory]
    [InlineData(5, 7, 9, 2)]
    [InlineData(1, 3, 40, 1)]
    [InlineData(6, 1, 2, 3)]
    public void Local_standard_deviation_matches_a_brute_force_box(int nz, int ny, int nx, int r)
    {
        var input = Random(new Shape3(nz, ny, nx), nz * ny * nx);
        var sd = LocalStandardDeviation.Compute(input, r);
        for (int z = 0; z < nz; z++)
        {
            for (int y = 0; y < ny; y++)
            {
                for (int x = 0; x < nx; x++)
                {
                    double sum = 0, sumSq = 0;
                    int n = 0;
                    for (int k = Math.Max(0, z - r); k <= Math.Min(nz - 1, z + r); k++)
                    {
                        for (int j = Math.Max(0, y - r); j <= Math.Min(ny - 1, y + r); j++)
                        {
                            for (int i = Math.Max(0, x - r); i <= Math.Min(nx - 1, x + r); i++)
                            {
                                sum += input[k, j, i];
                                sumSq += input[k, j, i] * (double)input[k, j, i];
                                n++;
                            }
                        }
                    }

                    double mean = sum / n;
                    Assert.Equal(Math.Sqrt(Math.Max(0, (sumSq / n) - (mean * mean))), sd[z, y, x], 3);
                }
            }
        }
    }

    internal static Volume<float> Random(Shape3 shape, int seed)
    {
        var v = new Volume<float>(shape);
        var rng = new Random(seed);
        foreach (ref float f in v.Span)
        {
            f = (float)rng.NextDouble();
        }

        return v;
    }

    private static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, float tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            if (Math.Abs(expected[i] - actual[i]) > tolerance * Math.Max(1, Math.Abs(expected[i])))
            {
                Assert.Fail($"Voxel {i}: expected {expected[i]}, got {actual[i]}.");
            }
        }
    }

    private sealed class SyncProgress(List<ProgressReport> reports) : IProgress<ProgressReport>
    {
        public void Report(ProgressReport value) => reports.Add(value);
    }

    private sealed class IdentityPredictor : IPatchPredictor
    {
        public int Windows { get; private set; }

        public List<int> BatchSizes { get; } = [];

        public List<Shape3> Patches { get; } = [];

        public int DelayMs { get; init; }

        public Action<int>? OnBatch { get; init; }

        public void Predict(ReadOnlySpan<float> batch, int batchSize, Shape3 patch, Span<float> probabilities)
        {
            Assert.Equal(batchSize * patch.Length, batch.Length);
            Windows += batchSize;
            BatchSizes.Add(batchSize);
            Patches.Add(patch);
            batch.CopyTo(probabilities);
            if (DelayMs > 0)
            {
                Thread.Sleep(DelayMs);
            }

            OnBatch?.Invoke(BatchSizes.Count);
        }
    }

    private sealed class ThresholdPredictor : IPatchPredictor
    {
        public int Windows { get; private set; }

        public void Predict(ReadOnlySpan<float> batch, int batchSize, Shape3 patch, Span<float> probabilities)
        {
            Windows += batchSize;
            for (int i = 0; i < batch.Length; i++)
            {
                probabilities[i] = batch[i] > 0.25f ? 1 : 0;
            }
        }
    }

    private sealed class WindowIndexPredictor : IPatchPredictor
    {
        private int _next;

        public void Predict(ReadOnlySpan<float> batch, int batchSize, Shape3 patch, Span<float> probabilities)
        {
            for (int b = 0; b < batchSize; b++)
            {
                probabilities.Slice(b * (int)patch.Length, (int)patch.Length).Fill(_next++);
            }
        }
    }
}
